"""Wall time of the whole export chain from the shipped adapter, with a cold model cache.

    ecomlm bench-export-chain --out /tmp/chain [--gguf-quant q8_0,q4_0] [--onnx-quant int8] [--parity]

Steps, each timed: materialise the bundled base GGUF as a Hugging Face folder and merge the shipped
LoRA adapter into it (``default``), convert to F16 GGUF and quantize, export fp32 ONNX and quantize.
The model cache (``$ECOMLM_CACHE``) is a fresh temp folder, so nothing derived from the model is
reused; only llama.cpp's converter files (downloaded once, see quantize/EXPORT.md) are linked in.
Without ``--parity`` the PyTorch comparisons are skipped (they are timed in each manifest when run).
Writes ``chain.json`` and ``chain.md`` into ``--out`` beside the two export folders.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence


def run_chain(out: Path, gguf_quants: Sequence[str], onnx_quants: Sequence[str], parity: bool,
              threads: int = 2) -> dict[str, Any]:
    """Run the chain into ``out`` (``gguf/``, ``onnx/``) and return the step times."""
    from ecomlm.source.converter import ensure_converter
    from ecomlm.quantize.export import ExportOptions, export_gguf, export_onnx

    converter = ensure_converter()  # in the real cache: a one-time download, not part of the chain
    saved = os.environ.get("ECOMLM_CACHE")
    steps: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ecomlm-chain-cache-") as cache:
        os.symlink(converter.root, Path(cache) / converter.root.name)
        os.environ["ECOMLM_CACHE"] = cache
        try:
            t0 = time.perf_counter()
            from ecomlm.quantize.source import resolve_source
            resolve_source("default")
            steps["materialise base + merge adapter"] = time.perf_counter() - t0
            opts = ExportOptions(parity=parity, force=True, threads=threads, progress=True)
            gguf = export_gguf("default", out / "gguf", ["f16", *gguf_quants], opts)
            onnx = export_onnx("default", out / "onnx", ["fp32", *onnx_quants], opts)
            total = time.perf_counter() - t0
        finally:
            if saved is None:
                os.environ.pop("ECOMLM_CACHE", None)
            else:
                os.environ["ECOMLM_CACHE"] = saved
    for fmt, data in (("gguf", gguf), ("onnx", onnx)):
        for name, seconds in data["timings_s"].items():
            if not name.startswith(("fetch", "resolve")):
                steps[f"{fmt}: {name}"] = seconds
    from ecomlm.quantize.manifest import machine

    return {"machine": machine(), "parity": parity, "gguf_quants": ["f16", *gguf_quants],
            "onnx_quants": ["fp32", *onnx_quants], "steps_s": {k: round(v, 1) for k, v in steps.items()},
            "total_s": round(total, 1),
            "sizes_mb": {**{f"gguf {a['name']}": round(a["bytes"] / 1e6, 1) for a in gguf["artifacts"]},
                         **{f"onnx {a['name']}": round(a["bytes"] / 1e6, 1) for a in onnx["artifacts"]}}}


def render(result: dict[str, Any]) -> str:
    lines = [f"Export chain from the shipped adapter, cold model cache, parity checks "
             f"{'on' if result['parity'] else 'off'}; machine: {result['machine']}", "",
             "| step | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in result["steps_s"].items()]
    lines.append(f"| **total (wall)** | **{result['total_s']:.1f}** |")
    lines += ["", "Artifacts: " + ", ".join(f"{k} {v} MB" for k, v in result["sizes_mb"].items())]
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm bench-export-chain`` (and ``python -m ecomlm.bench.export_chain``)."""
    p.add_argument("--out", required=True, type=Path, help="folder for gguf/, onnx/, chain.json, chain.md")
    p.add_argument("--gguf-quant", default="q8_0,q4_0", help="GGUF types after F16 (default: %(default)s)")
    p.add_argument("--onnx-quant", default="int8", help="ONNX quantizations after fp32 (default: %(default)s)")
    p.add_argument("--parity", action="store_true", help="also compare every artifact with PyTorch")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default: %(default)s)")


def cmd_bench_export_chain(args: argparse.Namespace) -> int:
    """Run and time the export chain; write chain.json and chain.md."""
    split = lambda s: [q.strip() for q in s.split(",") if q.strip()]  # noqa: E731
    args.out.mkdir(parents=True, exist_ok=True)
    result = run_chain(args.out, split(args.gguf_quant), split(args.onnx_quant), args.parity, args.threads)
    from ecomlm.runtime.atomic_io import atomic_write

    with atomic_write(args.out / "chain.json") as f:
        json.dump(result, f, indent=2)
    text = render(result)
    with atomic_write(args.out / "chain.md") as f:
        f.write(text)
    print(text)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ecomlm.bench.export_chain``: the same as ``ecomlm bench-export-chain``."""
    from ecomlm.runtime.cli import script_main
    return script_main("python -m ecomlm.bench.export_chain", __doc__.split("\n\n")[0], add_arguments,
                       cmd_bench_export_chain, argv)


if __name__ == "__main__":
    raise SystemExit(main())
