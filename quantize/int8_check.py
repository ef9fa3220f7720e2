"""Does onnxruntime's dynamic int8 compute accurately on this CPU? One MatMul, three weight recipes.

    python -m ecomlm.quantize.int8_check [--seed 0]

Builds one float MatMul (64 x 48 weights whose columns span a 300x range of scales, as a
transformer's projections do), quantizes it with the call ``ecomlm export onnx`` makes
(``onnx_export.quantize_int8``: per-tensor; per-channel with 8-bit weights; per-channel with 7-bit
weights, ``reduce_range``), runs each on three inputs and prints the largest error relative to the
float result, with the CPU features that decide it (``manifest.cpu_features``). On a CPU without
VNNI (AVX2 only) the per-channel 8-bit row is several times the others: onnxruntime sums pairs of
uint8 x int8 products in int16 there, which saturates with weights over the whole int8 range
(``onnx_export.py``, the int8 recipes).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Optional, Sequence

#: (row name, per_channel, reduce_range)
RECIPES = (("per-tensor, 8-bit weights", False, False), ("per-channel, 8-bit weights", True, False),
           ("per-channel, 7-bit weights (ecomlm's int8)", True, True))


def relative_errors(seed: int = 0, k: int = 64, n: int = 48) -> dict[str, float]:
    """Largest |int8 - float| / largest |float| of one MatMul, per recipe of ``RECIPES``."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from .onnx_export import quantize_int8

    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((k, n)) * np.linspace(0.01, 3.0, n)).astype(np.float32)
    x = rng.standard_normal((3, k)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, n])],
                              [numpy_helper.from_array(w, "w")])
    reference = x @ w
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ecomlm-int8-check-") as tmp:
        src = Path(tmp) / "matmul.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
        for name, per_channel, reduce_range in RECIPES:
            dest = Path(tmp) / "int8.onnx"
            quantize_int8(src, dest, per_channel=per_channel, reduce_range=reduce_range)
            session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
            y = session.run(None, {"x": x})[0]
            out[name] = float(np.abs(y - reference).max() / np.abs(reference).max())
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    import logging

    import onnxruntime as ort

    from .manifest import cpu_features

    p = argparse.ArgumentParser(prog="python -m ecomlm.quantize.int8_check", description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0, help="random weights and inputs (default: 0)")
    args = p.parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's pre-processing advice
    print(f"onnxruntime {ort.__version__}; CPU features: {', '.join(cpu_features()) or 'none found'}\n")
    print("| int8 recipe | largest error, relative to float |\n|---|---:|")
    for name, err in relative_errors(args.seed).items():
        print(f"| {name} | {100 * err:.1f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
