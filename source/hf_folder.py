"""A model reference as a Hugging Face folder: what export (and anything else needing weights) starts from.

A registered name (``default``, ``multilingual``, ``base``, ``gemma3-270m``: runtime/models.py) or a
``.gguf`` file is written as a plain Hugging Face folder, cached: a base by ``base.materialize_base``,
a fine-tuned name as its base with the shipped adapter merged in (``merge.merge_run``). A folder is
used as it is.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ecomlm.runtime.cache import cache_root
from ecomlm.runtime.errors import ModelLoadError


def materialized(ref: str) -> Path:
    """A registered model name or a .gguf file as a Hugging Face folder: a fine-tuned name is its
    base with the shipped adapter merged in; a base name, the base."""
    from ecomlm.runtime.models import MODELS

    from .base import materialize_base

    if ref not in MODELS:  # a .gguf file
        return materialize_base(ref)
    model = MODELS[ref]
    model.resolve()  # the base is installed; the adapter is there unless the name may fall back
    if model.adapter is not None:
        return merged_shipped(model.name, model.adapter_dir)
    return materialize_base("base" if model.base.name == "smollm2-135m" else model.base.name)


def merged_shipped(name: str, shipped: Path) -> Path:
    """A shipped fine-tuned model as a merged Hugging Face folder (cached by the adapter's hash)."""
    from .base import FORMAT
    from .merge import merge_run

    digest = hashlib.sha256((shipped / "adapter" / "adapter_model.safetensors").read_bytes()).hexdigest()
    out = cache_root() / "merged" / f"{name}-{digest[:16]}-f{FORMAT}"  # rebuilt with the base folder
    if not (out / "config.json").exists():
        merge_run(shipped, out)
    return out


def hf_folder(model: str | os.PathLike[str]) -> Path:
    """The Hugging Face folder for ``model``: a registered name or a ``.gguf`` file materialised,
    an existing folder as it is; ``ModelLoadError`` naming what to give otherwise."""
    from ecomlm.runtime.models import MODELS

    text = str(model)
    if text in MODELS or text.endswith(".gguf"):
        return materialized(text)
    path = Path(text).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model {text!r} does not exist; give a Hugging Face model folder "
                             f"or a model name ({', '.join(MODELS)})")
    if not path.is_dir():
        raise ModelLoadError(f"{text!r} is a file, not a Hugging Face model folder (a .gguf file "
                             f"is exported by giving its path ending in .gguf)")
    return path


__all__ = ["hf_folder", "materialized", "merged_shipped"]
