"""The export pipelines: MODEL -> GGUF files, MODEL -> ONNX folders, each checked and manifested.

    from ecomlm.quantize.export import export_gguf, export_onnx, ExportOptions
    export_gguf("base", "out/gguf", ["f16", "q8_0", "q4_0"])

Steps: resolve MODEL to a Hugging Face folder (materialising ``base``/``default``), stage it (links,
tokenizer repaired if needed), convert and quantize into a temp folder beside ``--out``, compare
each artifact with the PyTorch model on the fixed prompt set (``parity.py``), write
``manifest.json``, then rename the temp folder to ``--out``.
"""
from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

from ecomlm.runtime.errors import InvalidInputError

from . import manifest as mf
from .hygiene import STAGE_PREFIX, clean_stale, owned_temp_dir
from .source import SourceModel, resolve_source, stage

if TYPE_CHECKING:
    from .imatrix import ImportanceMatrix

_TORCH_TOOLS = ("torch", "transformers")


@dataclass
class ExportOptions:
    parity: bool = True            # compare every artifact with PyTorch
    speed: bool = False            # measure prompt/generation tokens/s (the --report figures)
    force: bool = False            # replace an existing --out
    threads: int = 2               # CPU threads for quantization, parity and speed runs
    parity_tokens: int = 24        # greedy tokens per parity prompt
    parity_prompts: int = 0        # use only the first N prompts of the fixed set (0: all)
    progress: bool = True
    imatrix: Optional[Path] = None  # GGUF only: weight llama.cpp's rounding by an importance matrix
    #                                 (a corpus JSONL to collect one on, or an imatrix .gguf: imatrix.py)
    imatrix_records: int = 256     # corpus records an importance matrix is collected on


class _Timer:
    def __init__(self, progress: bool) -> None:
        self.times: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.progress:
            print(f"[export] {name} ...", flush=True)
        t0 = time.perf_counter()
        yield
        self.times[name] = round(time.perf_counter() - t0, 2)
        if self.progress:
            print(f"[export] {name}: {self.times[name]:.1f} s", flush=True)


def _source_entry(src: SourceModel, repairs: list[str]) -> dict[str, Any]:
    return {"ref": src.ref, "path": str(src.path), "sha256": src.sha256, "architecture": src.architecture,
            "model_type": src.model_type, "tokenizer_repairs": repairs}


class _Reference:
    """The PyTorch model (loaded once) and its parity reference."""

    def __init__(self, hf_dir: Path, opts: ExportOptions) -> None:
        from ecomlm.runtime.backends.torch_backend import TorchBackend

        from .parity import build_reference

        self.backend = TorchBackend(hf_dir, n_threads=opts.threads)
        self.ref = build_reference(self.backend, opts.parity_tokens, opts.parity_prompts or None)

    def speed(self) -> dict:
        from .parity import TokenBackendScorer, measure_speed
        return measure_speed(TokenBackendScorer(self.backend), self.ref)


def _check(ref: Optional[_Reference], make_scorer: Callable[[], Any], opts: ExportOptions,
           timer: "_Timer", name: str) -> tuple:
    """Parity (and, with ``opts.speed``, tokens/s) of one artifact against the PyTorch reference."""
    if ref is None:
        return None, None
    from .parity import compare, measure_speed

    scorer = make_scorer()
    try:
        with timer.step(f"parity {name}"):
            parity = compare(ref.ref, scorer, scorer.tokenize).to_dict()
        speed = None
        if opts.speed:
            with timer.step(f"speed {name}"):
                speed = measure_speed(scorer, ref.ref)
    finally:
        close = getattr(scorer, "close", None) or getattr(getattr(scorer, "backend", None), "close", None)
        if close:
            close()
    return parity, speed


def _begin(model: str, out: Path, opts: ExportOptions, timer: _Timer) -> tuple[SourceModel, Path, Path, list[str]]:
    tmp = mf.prepare_output(out, opts.force)
    try:
        with timer.step("resolve/materialise source"):
            src = resolve_source(model)
        clean_stale(None, STAGE_PREFIX)  # staging folders of killed exports
        staging, repairs = stage(src, owned_temp_dir(None, STAGE_PREFIX))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return src, tmp, staging, repairs


def export_gguf(model: str, out: str | Path, quants: Sequence[str] = ("f16", "q8_0", "q4_k_m", "q4_0"),
                opts: Optional[ExportOptions] = None) -> dict[str, Any]:
    """Convert ``model`` to GGUF files in ``out`` (``<name>-<TYPE>.gguf`` + ``manifest.json``)."""
    from . import gguf_export as ge
    from ecomlm.source.converter import ensure_converter
    from .parity import GGUFScorer

    opts = opts or ExportOptions()
    out = Path(out)
    quants = list(quants)
    if opts.imatrix is not None:
        opts = replace(opts, imatrix=Path(opts.imatrix))  # a str from Python callers too
        _check_imatrix_request(opts.imatrix, quants)
    timer = _Timer(opts.progress)
    with timer.step("fetch llama.cpp converter"):
        conv = ensure_converter()
    src, tmp, staging, repairs = _begin(model, out, opts, timer)
    try:
        stem = {"base": "SmolLM2-135M-Instruct", "default": "ecomlm-smollm2-135m"}.get(src.ref, src.path.name)
        base_type = next((q for q in quants if q in ge.CONVERTER_TYPES), "f16")
        base_file = tmp / ge.file_name(stem, base_type)
        with timer.step(f"convert to {base_type.upper()} (convert_hf_to_gguf.py)"):
            ge.convert(staging, base_file, base_type, conv, model_name=stem)  # not the staging folder's name
        files: dict[str, Path] = {base_type: base_file}
        matrix = _importance_matrix(staging, base_file, opts, timer, tmp)
        for q in quants:
            if q in ge.CONVERTER_TYPES and q != base_type:
                with timer.step(f"convert to {q.upper()}"):
                    ge.convert(staging, tmp / ge.file_name(stem, q), q, conv, model_name=stem)
                files[q] = tmp / ge.file_name(stem, q)
            elif q in ge.QUANT_TYPES:
                with timer.step(f"quantize {q.upper()}"):
                    ge.quantize(base_file, tmp / ge.file_name(stem, q), q, opts.threads, matrix)
                files[q] = tmp / ge.file_name(stem, q)
        ref = None
        if opts.parity:
            with timer.step("PyTorch reference"):
                ref = _Reference(staging, opts)
        artifacts = []
        for q in quants:
            path = files[q]
            info = ge.inspect(path, conv)
            parity, speed = _check(ref, lambda: GGUFScorer(path, opts.threads), opts, timer, q.upper())
            artifacts.append({
                "name": q.upper(), "quantization": {"type": q.upper(), "tool": "llama_model_quantize"
                                                    if q in ge.QUANT_TYPES else "convert_hf_to_gguf.py",
                                                    "tensor_types": info.tensor_types,
                                                    "imatrix": matrix.describe() if matrix is not None
                                                    and q in ge.QUANT_TYPES else None},
                "files": mf.file_entries(tmp, [path]), "bytes": path.stat().st_size,
                "bits_per_weight": info.bits_per_weight, "n_weights": info.n_weights,
                "gguf_metadata": info.metadata, "parity": parity, "speed": speed, "task_score_delta": None})
        if base_type not in quants:
            base_file.unlink()
        data = {
            "manifest_version": mf.MANIFEST_VERSION, "format": "gguf", "created": mf.now(),
            "machine": mf.machine(), "source": _source_entry(src, repairs),
            "tools": {**mf.tool_versions(("ecomlm", "llama-cpp-python", *_TORCH_TOOLS)),
                      "llama_cpp_converter": f"convert_hf_to_gguf.py from the llama-cpp-python "
                                             f"{conv.version} sdist"},
            "parity_prompts": _prompt_names(), "reference_speed": _ref_speed(ref, opts, timer),
            "timings_s": timer.times, "artifacts": artifacts}
        if matrix is not None:
            saved = [tmp / "imatrix.gguf"] if (tmp / "imatrix.gguf").exists() else []
            data["imatrix"] = {**matrix.describe(), "source": str(opts.imatrix),
                               "files": mf.file_entries(tmp, saved)}
        mf.write_manifest(tmp, data)
        mf.publish(tmp, out)
        return data
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_imatrix_request(source: Path, quants: Sequence[str]) -> None:
    """Before any work: the matrix's file exists and some asked type is one the quantizer makes."""
    from . import gguf_export as ge

    if not source.is_file():
        raise InvalidInputError(f"--imatrix {str(source)!r}: no such file (give a corpus JSONL or an "
                                f"imatrix .gguf)")
    if not any(q in ge.QUANT_TYPES for q in quants):
        raise InvalidInputError(f"--imatrix weights llama.cpp's quantizer, but none of {', '.join(quants)} "
                                f"is quantized by it (one of {', '.join(ge.QUANT_TYPES)})")


def _importance_matrix(staging: Path, base_file: Path, opts: ExportOptions, timer: _Timer,
                       tmp: Path) -> Optional["ImportanceMatrix"]:
    """``opts.imatrix`` as a matrix checked against the base file (None without it), saved into the
    export as ``imatrix.gguf`` when collected here, so that it can be reused (``--imatrix``)."""
    from .imatrix import missing_tensors, resolve

    if opts.imatrix is None:
        return None
    with timer.step(f"importance matrix from {opts.imatrix.name}"):
        matrix = resolve(opts.imatrix, staging, opts.imatrix_records, opts.threads, opts.progress)
    missing = missing_tensors(matrix, base_file)
    if missing:
        raise InvalidInputError(f"the importance matrix {str(opts.imatrix)!r} has no entry for {len(missing)} "
                                f"weight tensor(s) of this model ({', '.join(missing[:3])}, ...): it was "
                                f"made for another model; give this model's corpus JSONL instead")
    if opts.imatrix.suffix != ".gguf":
        matrix.save(tmp / "imatrix.gguf")
    return matrix


def export_onnx(model: str, out: str | Path, quants: Sequence[str] = ("fp32", "int8", "int4"),
                opts: Optional[ExportOptions] = None) -> dict[str, Any]:
    """Export ``model`` to ONNX in ``out/<quant>/`` folders (each with model.onnx and manifest.json)."""
    from ecomlm.runtime.backends.onnx_backend import OnnxBackend

    from . import onnx_export as oe
    from .parity import TokenBackendScorer

    opts = opts or ExportOptions()
    out = Path(out)
    quants = list(quants)
    timer = _Timer(opts.progress)
    src, tmp, staging, repairs = _begin(model, out, opts, timer)
    try:
        fp32_dir = tmp / "fp32"
        with timer.step("export fp32 (optimum)"):
            oe.export_fp32(staging, fp32_dir)
        n_weights = oe.onnx_weight_count(fp32_dir / "model.onnx")
        for q in quants:
            if q != "fp32":
                with timer.step(f"quantize {q}"):
                    oe.quantize_onnx(fp32_dir, tmp / q, q)
        ref = None
        if opts.parity:
            with timer.step("PyTorch reference"):
                ref = _Reference(staging, opts)
        tools = mf.tool_versions(("ecomlm", "optimum", "optimum-onnx", "onnx", "onnxruntime", "onnx-ir",
                                  *_TORCH_TOOLS))
        artifacts = []
        for q in quants:
            folder = tmp / q
            parity, speed = _check(
                ref, lambda: TokenBackendScorer(OnnxBackend(folder, n_threads=opts.threads)), opts, timer, q)
            files = oe.folder_files(folder)
            weights_bytes = (folder / "model.onnx").stat().st_size
            spec = oe.ONNX_QUANTS[q]
            artifacts.append({
                "name": q, "path": q,
                "quantization": {"kind": spec.kind, "recipe": q, "summary": spec.summary,
                                 "per_channel": spec.per_channel, "kept_float": list(spec.exclude),
                                 "block_size": spec.block_size if spec.kind == "int4" else None},
                "files": mf.file_entries(tmp, files), "bytes": sum(f.stat().st_size for f in files),
                "bits_per_weight": round(8 * weights_bytes / n_weights, 3), "n_weights": n_weights,
                "parity": parity, "speed": speed, "task_score_delta": None})
        if "fp32" not in quants:
            shutil.rmtree(fp32_dir)
        data = {
            "manifest_version": mf.MANIFEST_VERSION, "format": "onnx", "created": mf.now(),
            "machine": mf.machine(), "source": _source_entry(src, repairs), "tools": tools,
            "parity_prompts": _prompt_names(), "reference_speed": _ref_speed(ref, opts, timer),
            "timings_s": timer.times, "artifacts": artifacts}
        for art in artifacts:  # each folder carries its own manifest (one artifact)
            own = dict(data, artifacts=[dict(art, files=[dict(f, path=f["path"].split("/", 1)[1])
                                                         for f in art["files"]])])
            mf.write_manifest(tmp / art["path"], own)
        mf.write_manifest(tmp, data)
        mf.publish(tmp, out)
        return data
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prompt_names() -> list[str]:
    from .parity import PARITY_PROMPTS
    return [name for name, _ in PARITY_PROMPTS]


def _ref_speed(ref: Optional[_Reference], opts: ExportOptions, timer: _Timer) -> Optional[dict]:
    if ref is None or not opts.speed:
        return None
    with timer.step("speed PyTorch"):
        return ref.speed()
