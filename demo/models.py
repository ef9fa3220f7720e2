"""The models the demo offers: the shipped names (``default``, ``multilingual``, ``base``,
``gemma3-270m``: those installed), those given with ``--model`` and the GGUF files
and ONNX folders found under an exports folder (``exports/`` by default, as ``ecomlm export`` writes)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ecomlm.runtime.backends import KIND_TO_BACKEND
from ecomlm.runtime.errors import EcomError
from ecomlm.runtime.model_ref import resolve
from ecomlm.runtime.models import MODELS


DEFAULT_EXPORTS_DIR = Path("exports")


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    ref: str
    backend: str
    size_bytes: int

    @property
    def label(self) -> str:
        name = self.ref if self.ref in MODELS else Path(self.ref).name
        return f"{name} · {self.backend} · {self.size_bytes / 1e6:.0f} MB"


def _choice(ref: str) -> Optional[ModelChoice]:
    try:
        resolved = resolve(ref)
    except EcomError:
        return None
    return ModelChoice(ref=ref, backend=KIND_TO_BACKEND[resolved.kind], size_bytes=resolved.size_bytes())


def _finished(path: Path, base: Path) -> bool:
    """Not inside a dot-folder (an export still being written, or one a killed export left) and
    not itself hidden."""
    return not any(part.startswith(".") for part in path.relative_to(base).parts)


def find_exports(root: str | os.PathLike[str] = DEFAULT_EXPORTS_DIR) -> list[str]:
    """Finished GGUF files and ONNX folders under ``root`` (sorted; none when ``root`` does not
    exist). Anything under a dot-folder (``.NAME.tmp-*``: unfinished) is left out."""
    base = Path(root)
    if not base.is_dir():
        return []
    found = {str(p) for p in base.rglob("*.gguf") if p.is_file() and _finished(p, base)}
    found |= {str(p.parent) for p in base.rglob("*.onnx") if p.is_file() and _finished(p, base)}
    return sorted(found)


def model_choices(extra: Iterable[str] = (), exports_dir: Optional[str | os.PathLike[str]] = None,
                  ) -> list[ModelChoice]:
    """The picker's entries, the ``extra`` references first (a bad one raises ``ModelLoadError``);
    the shipped model names (runtime/models.py) and found exports that cannot be resolved (not
    installed, adapter not shipped) are left out."""
    for ref in extra:
        resolve(ref)  # name the problem with an explicit --model now, not as a missing entry
    refs: list[str] = []
    for ref in [*extra, *MODELS, *find_exports(exports_dir or DEFAULT_EXPORTS_DIR)]:
        if ref not in refs:
            refs.append(ref)
    return [c for c in map(_choice, refs) if c is not None]


__all__ = ["ModelChoice", "find_exports", "model_choices"]
