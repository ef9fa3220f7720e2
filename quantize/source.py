"""The model an export starts from: a Hugging Face causal-LM folder, materialised from a reference.

A model name (``default``, ``multilingual``, ``base``, ``gemma3-270m``: runtime/models.py) or a
``.gguf`` file is first written as a plain Hugging Face folder by ``ecomlm.source.hf_folder``
(cached; a fine-tuned name with its adapter merged in); a folder is used as it is. This module
checks that the folder is a causal LM that can be exported and stages it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ecomlm.runtime.backends.torch_backend import check_hf_folder
from ecomlm.runtime.errors import EcomError, ModelLoadError
from ecomlm.source.base import source_hash
from ecomlm.source.hf_folder import hf_folder
from ecomlm.source.tokenizer_repair import repair_folder


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


def resolve_source(model: str | os.PathLike[str]) -> SourceModel:
    """The Hugging Face folder to export for ``model``; clear errors for anything else."""
    text = str(model)
    path = hf_folder(text)
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

    Returns the folder and the tokenizer repairs made (see ``ecomlm.source.tokenizer_repair``); the source
    folder itself is never modified.
    """
    folder.mkdir(parents=True, exist_ok=True)
    changes = repair_folder(source.path, folder)  # writes tokenizer files only when it changes them
    # a byte-level tokenizer has no SentencePiece model; a stray one would make the converter use it
    skip = {"tokenizer.model"} if changes else set()
    for f in source.path.iterdir():
        if f.is_file() and f.name not in skip and not (folder / f.name).exists():
            os.symlink(f.resolve(), folder / f.name)
    return folder, changes
