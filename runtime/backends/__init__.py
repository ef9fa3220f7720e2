"""Inference backends. ``load_backend`` picks the one that runs a resolved model reference.

Only the llama.cpp backend is imported eagerly-on-use without heavy dependencies; the ONNX Runtime
and PyTorch backends import their libraries when chosen.
"""
from __future__ import annotations

from typing import Any, Optional

from ..errors import BackendUnavailableError, InvalidInputError, ModelLoadError
from ..model_ref import ResolvedModel
from .base import Backend

BACKENDS = ("llama.cpp", "onnxruntime", "torch")
#: the backend that runs each model format (``ResolvedModel.kind``) by default
KIND_TO_BACKEND = {"gguf": "llama.cpp", "onnx": "onnxruntime", "hf": "torch"}


def load_backend(model: ResolvedModel, backend: Optional[str] = None, **options: Any) -> Backend:
    """Load ``model`` on ``backend`` (by default the one that fits the model's format).
    ``parallel_samples``: a vote's samples decoded side by side where the backend can (llama.cpp,
    ``llama_parallel.py``; on by default there); the other backends decode them one after another."""
    name = backend or KIND_TO_BACKEND[model.kind]
    parallel_samples = options.pop("parallel_samples", None)
    n_ctx = options.get("n_ctx")
    if n_ctx is not None and (isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < 1):
        raise InvalidInputError(f"n_ctx must be a positive number of tokens, not {n_ctx!r} "
                                f"(the model's context window; 4096 by default)")
    if name not in BACKENDS:
        raise BackendUnavailableError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if KIND_TO_BACKEND[model.kind] != name:
        raise ModelLoadError(f"{model.ref!r} is a {model.kind} model, which runs on "
                             f"{KIND_TO_BACKEND[model.kind]}, not {name}")
    if name == "llama.cpp":
        from .llama_cpp_backend import LlamaCppBackend
        if parallel_samples is not None:
            options["parallel_samples"] = bool(parallel_samples)
        return LlamaCppBackend(model.path, lora_path=str(model.adapter) if model.adapter else None,
                               **options)
    try:
        if name == "onnxruntime":
            from .onnx_backend import OnnxBackend as cls
        else:
            from .torch_backend import TorchBackend as cls
    except ImportError as e:
        extra = "export" if name == "onnxruntime" else "train"
        raise BackendUnavailableError(f"the {name} backend needs extra packages: "
                                      f"pip install 'ecomlm[{extra}]' ({e})") from e
    return cls(model.path, **options)
