"""The model an export starts from: a Hugging Face causal-LM folder, materialised from a reference.

A model name (``default``, ``multilingual``, ``base``, ``gemma3-270m``: runtime/models.py) or a
``.gguf`` file is first written as a plain Hugging Face folder by
``ecomlm.train.base_model.materialize_base`` (cached; a fine-tuned name with its adapter merged in);
a folder is used as it is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ecomlm.runtime.backends.torch_backend import check_hf_folder
from ecomlm.runtime.errors import EcomError, ModelLoadError


class UnsupportedModelError(EcomError):
    """A model whose architecture an exporter cannot convert."""


@dataclass(frozen=True)
class SourceModel:
    """A Hugging Face folder ready to export, with where it came from and its content hash."""

    ref: str
    path: Path
    sha256: str
    architecture: str
    model_type: str


def _materialize(ref: str) -> Path:
    """A registered model name (runtime/models.py) or a .gguf file as a Hugging Face folder: a
    fine-tuned name is its base with the shipped adapter merged in; a base name, the base."""
    from ecomlm.runtime.models import MODELS
    try:
        from ecomlm.train.base_model import materialize_base
    except ImportError as e:
        raise ModelLoadError(f"exporting {ref!r} needs ecomlm.train.base_model (pip install "
                             f"'ecomlm[train]'): {e}") from e
    if ref not in MODELS:  # a .gguf file
        return materialize_base(ref)
    model = MODELS[ref]
    model.resolve()  # the base is installed; the adapter is there unless the name may fall back
    if model.adapter is not None:
        return _merged(model.name, model.adapter_dir)
    return materialize_base("base" if model.base.name == "smollm2-135m" else model.base.name)


def _merged(name: str, shipped: Path) -> Path:
    """A shipped fine-tuned model as a merged Hugging Face folder (cached by the adapter's hash)."""
    import hashlib

    from ecomlm.train.base_model import FORMAT, cache_root
    from ecomlm.train.merge import merge_run

    digest = hashlib.sha256((shipped / "adapter" / "adapter_model.safetensors").read_bytes()).hexdigest()
    out = cache_root() / "merged" / f"{name}-{digest[:16]}-f{FORMAT}"  # rebuilt with the base folder
    if not (out / "config.json").exists():
        merge_run(shipped, out)
    return out


def resolve_source(model: str | os.PathLike[str]) -> SourceModel:
    """The Hugging Face folder to export for ``model``; clear errors for anything else."""
    from ecomlm.train.base_model import source_hash

    from ecomlm.runtime.models import MODELS

    text = str(model)
    if text in MODELS or text.endswith(".gguf"):
        path = _materialize(text)
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise ModelLoadError(f"model {text!r} does not exist; give a Hugging Face model folder "
                                 f"or a model name ({', '.join(MODELS)})")
        if not path.is_dir():
            raise ModelLoadError(f"{text!r} is a file, not a Hugging Face model folder (a .gguf file "
                                 f"is exported by giving its path ending in .gguf)")
    config = check_hf_folder(path)
    if not (path / "tokenizer.json").exists():
        raise ModelLoadError(f"{str(path)!r} has no tokenizer.json: save the tokenizer with the model")
    archs = config.get("architectures") or []
    causal = [a for a in archs if a.endswith("ForCausalLM")]
    if not causal:
        raise UnsupportedModelError(
            f"{str(path)!r} is a {', '.join(archs) or config.get('model_type', 'unknown')} model, not a "
            f"causal language model (architectures must name a *ForCausalLM class)")
    return SourceModel(ref=text, path=path, sha256=source_hash(path), architecture=causal[0],
                       model_type=str(config.get("model_type", "")))


def stage(source: SourceModel, folder: Path) -> tuple[Path, list[str]]:
    """A folder to export from: links to ``source``'s files, with a repaired tokenizer if needed.

    Returns the folder and the tokenizer repairs made (see ``tokenizer_repair.py``); the source
    folder itself is never modified.
    """
    from .tokenizer_repair import repair_folder

    folder.mkdir(parents=True, exist_ok=True)
    changes = repair_folder(source.path, folder)  # writes tokenizer files only when it changes them
    # a byte-level tokenizer has no SentencePiece model; a stray one would make the converter use it
    skip = {"tokenizer.model"} if changes else set()
    for f in source.path.iterdir():
        if f.is_file() and f.name not in skip and not (folder / f.name).exists():
            os.symlink(f.resolve(), folder / f.name)
    return folder, changes
