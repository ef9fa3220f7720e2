"""Hugging Face folder -> ONNX decoder with KV cache (optimum), and its onnxruntime quantizations.

- ``fp32``: ``optimum.exporters.onnx.main_export`` with task ``text-generation-with-past``.
- ``int8*``: onnxruntime dynamic quantization of the MatMul weights (activations quantized at run
  time). Plain int8 of every MatMul loses much of a small decoder's accuracy; the variants keep the
  layers measured as sensitive in float (see ``ONNX_QUANTS``). Weights take 7 bits (``reduce_range``):
  on a CPU without VNNI (AVX2 only) onnxruntime multiplies uint8 activations by int8 weights with
  ``vpmaddubsw``, whose int16 sums of two products saturate when the weights use the whole int8
  range; per-channel weights, each column scaled to that range, then lose most of their accuracy
  (the shipped model's per-channel int8: teacher-forced top-1 0.39 against fp32 on an AVX2 machine).
- ``int4``: weight-only 4-bit blocks (``MatMulNBits``, onnxruntime's ``MatMulNBitsQuantizer``).

Each quantization is one folder (``model.onnx`` + tokenizer files), loadable by
``EcomModel.load(folder)`` on the ONNX Runtime backend.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

#: files the ONNX folder needs beside the graph (what the backend and tokenizer read)
SIDE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "chat_template.jinja")


@dataclass(frozen=True)
class OnnxQuant:
    """One ONNX quantization recipe."""

    kind: str  # "fp32" | "int8" | "int4"
    per_channel: bool = False
    #: int8 weights in 7 bits, so that AVX2's uint8 x int8 pair sums cannot saturate (see above)
    reduce_range: bool = True
    exclude: tuple[str, ...] = ()  # regexes over MatMul node names kept in float
    block_size: int = 32
    summary: str = ""


ONNX_QUANTS: dict[str, OnnxQuant] = {
    "fp32": OnnxQuant("fp32", summary="float32, as exported"),
    "int8": OnnxQuant("int8", per_channel=True, exclude=(r"down_proj", r"lm_head"),
                      summary="dynamic int8, per-channel, 7-bit weights; down_proj and lm_head kept float"),
    "int8-8bit": OnnxQuant("int8", per_channel=True, reduce_range=False, exclude=(r"down_proj", r"lm_head"),
                           summary="int8 with 8-bit weights (the recipe before 2026-12-06): only for a CPU "
                                   "with VNNI; without it (AVX2 only) it loses most of the model's accuracy"),
    "int8-nodown": OnnxQuant("int8", exclude=(r"down_proj",),
                             summary="dynamic int8 per-tensor, 7-bit weights; down_proj kept float"),
    "int8-all": OnnxQuant("int8", summary="dynamic int8 of every MatMul, per-tensor, 7-bit weights (naive)"),
    "int8-pc": OnnxQuant("int8", per_channel=True, summary="dynamic int8 of every MatMul, per-channel, 7-bit weights"),
    "int4": OnnxQuant("int4", block_size=32, exclude=(r"lm_head",),
                      summary="MatMulNBits 4-bit weights, blocks of 32, symmetric; lm_head kept float"),
    "int4-all": OnnxQuant("int4", block_size=32, summary="MatMulNBits 4-bit weights of every MatMul"),
}


def parse_quants(text: str) -> list[str]:
    names = [q.strip().lower() for q in text.split(",") if q.strip()]
    bad = [q for q in names if q not in ONNX_QUANTS]
    if bad or not names:
        raise ValueError(f"unknown ONNX quantization(s) {', '.join(bad) or '(none given)'}; "
                         f"choose from {', '.join(ONNX_QUANTS)}")
    return list(dict.fromkeys(names))


def export_fp32(hf_dir: Path, out_dir: Path) -> Path:
    """Export ``hf_dir`` to ``out_dir/model.onnx`` (float32, KV cache) with its tokenizer files."""
    import logging

    from optimum.exporters.onnx import main_export

    from .source import UnsupportedModelError

    for name in ("optimum", "transformers", "torch.onnx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        main_export(str(hf_dir), out_dir, task="text-generation-with-past", device="cpu",
                    do_validation=False, local_files_only=True)
    except (ValueError, KeyError) as e:
        if "not supported" in str(e) or "Unrecognized" in str(e):
            raise UnsupportedModelError(f"optimum cannot export {hf_dir} to ONNX: {e}") from e
        raise
    for name in SIDE_FILES:  # optimum writes most of these; make sure all are there
        if (hf_dir / name).exists() and not (out_dir / name).exists():
            shutil.copy2(hf_dir / name, out_dir / name)
    return out_dir / "model.onnx"


def _matmul_nodes(model, patterns: tuple[str, ...]) -> list[str]:
    rx = [re.compile(p) for p in patterns]
    return [n.name for n in model.graph.node
            if n.op_type == "MatMul" and any(r.search(n.name) for r in rx)]


def quantize_int8(model: Any, dest: Path, *, per_channel: bool, reduce_range: bool,
                  exclude: Sequence[str] = ()) -> None:
    """onnxruntime's dynamic int8 of the MatMul weights of ``model`` (a ModelProto or a path) into
    ``dest``, as every ``int8*`` recipe does it (``int8_check.py`` runs the same call)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(model, dest, op_types_to_quantize=["MatMul"], per_channel=per_channel,
                     reduce_range=reduce_range, weight_type=QuantType.QInt8, nodes_to_exclude=list(exclude),
                     extra_options={"MatMulConstBOnly": True})


def quantize_onnx(fp32_dir: Path, out_dir: Path, name: str) -> Path:
    """Quantize ``fp32_dir/model.onnx`` with recipe ``name`` into ``out_dir`` (with side files)."""
    import onnx

    spec = ONNX_QUANTS[name]
    out_dir.mkdir(parents=True, exist_ok=True)
    src, dest = fp32_dir / "model.onnx", out_dir / "model.onnx"
    model = onnx.load(str(src), load_external_data=True)
    exclude = _matmul_nodes(model, spec.exclude)
    if spec.kind == "int8":
        quantize_int8(model, dest, per_channel=spec.per_channel, reduce_range=spec.reduce_range, exclude=exclude)
    elif spec.kind == "int4":
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        quantizer = MatMulNBitsQuantizer(model, bits=4, block_size=spec.block_size, is_symmetric=True,
                                         accuracy_level=4, nodes_to_exclude=exclude)
        quantizer.process()
        quantizer.model.save_model_to_file(str(dest), use_external_data_format=False)
    else:
        raise ValueError(f"{name} is not a quantization")
    for side in SIDE_FILES:
        if (fp32_dir / side).exists():
            shutil.copy2(fp32_dir / side, out_dir / side)
    return dest


def folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")


def onnx_weight_count(path: Path) -> int:
    """Number of weights of the float model (initializer elements), for bits-per-weight figures."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    total = 0
    for init in model.graph.initializer:
        n = 1
        for d in init.dims:
            n *= d
        total += n
    return total


__all__ = ["ONNX_QUANTS", "OnnxQuant", "export_fp32", "quantize_onnx", "parse_quants", "folder_files"]
