"""Optional parts of ecomlm (extras) and the one-line error a command gives when its extra is missing.

The hint names the command that installs the extra for the way ecomlm was installed: from a clone
(``bash scripts/setup.sh EXTRA``) or from a wheel or index (``pip install 'ecomlm[EXTRA]'``).
``check_command`` runs before a command does any work (no traceback, no download first).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Optional, Sequence

from ecomlm.runtime.errors import BackendUnavailableError

_TORCH = ("torch", "transformers", "safetensors")

#: (command, subcommand or None) -> (extra, importable modules the command needs)
COMMAND_NEEDS: dict[tuple[str, Optional[str]], tuple[str, tuple[str, ...]]] = {
    ("train", None): ("train", (*_TORCH, "peft", "accelerate")),
    ("merge", None): ("train", (*_TORCH, "peft")),
    ("val-loss", None): ("train", (*_TORCH, "peft")),
    ("ship", None): ("train", (*_TORCH, "peft")),
    ("export", "gguf"): ("export", (*_TORCH, "gguf", "sentencepiece")),
    ("export", "onnx"): ("export", (*_TORCH, "optimum", "onnx", "onnxruntime")),
    ("export", "score"): ("export", _TORCH),
    ("demo", None): ("demo", ("gradio",)),
    ("serve", None): ("demo", ("fastapi", "uvicorn", "fastapi_offline")),
    ("loadtest", None): ("demo", ("fastapi", "uvicorn", "fastapi_offline")),
    ("bench-prompt-tokens", None): ("train", ("transformers",)),
    ("bench-export-chain", None): ("export", (*_TORCH, "gguf", "optimum", "onnx", "onnxruntime")),
}

#: top-level module -> the extra that installs it (for a ModuleNotFoundError raised later on)
MODULE_EXTRAS: dict[str, str] = {
    "torch": "train", "transformers": "train", "peft": "train", "accelerate": "train",
    "safetensors": "train", "matplotlib": "eval", "optimum": "export", "onnx": "export",
    "onnxruntime": "export", "onnx_ir": "export", "sentencepiece": "export", "gguf": "export",
    "gradio": "demo", "fastapi": "demo", "uvicorn": "demo", "fastapi_offline": "demo",
    "playwright": "test", "pytest": "test", "httpx": "test", "openai": "test",
}


def clone_root() -> Optional[Path]:
    """The clone ecomlm runs from (an editable install), or ``None`` for an installed wheel."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "scripts" / "setup.sh").is_file() and (root / "pyproject.toml").is_file() else None


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` for this installation."""
    if clone_root() is not None:
        return f"run `bash scripts/setup.sh {extra}` in the clone"
    return f"run `pip install 'ecomlm[{extra}]'`"


def missing(modules: Sequence[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def need(extra: str, modules: Sequence[str], what: str) -> None:
    """Raise ``BackendUnavailableError`` (one line: what is missing, how to install it) unless every
    module of ``modules`` is importable."""
    absent = missing(modules)
    if absent:
        raise BackendUnavailableError(
            f"{what} needs the [{extra}] extra ({', '.join(absent)} not installed): {install_hint(extra)}")


def check_command(args: Any) -> None:
    """Before running a parsed ``ecomlm`` command, check its extra (``COMMAND_NEEDS``)."""
    command = getattr(args, "command", None)
    sub = getattr(args, "export_command", None)
    entry = COMMAND_NEEDS.get((command, sub)) or COMMAND_NEEDS.get((command, None))
    if command and entry:
        extra, modules = entry
        need(extra, modules, f"`ecomlm {command}{' ' + sub if sub else ''}`")


def explain_missing_module(exc: ModuleNotFoundError) -> Optional[str]:
    """The one-line message for a missing optional module, or ``None`` if it is not one."""
    parts = (exc.name or "").split(".")
    top, root = parts[0], clone_root()
    if top == "ecomlm" and len(parts) > 1 and root is not None and (root / parts[1]).is_dir():
        # an editable install maps the sub-packages it was made with: a folder added since is missing
        return (f"{exc.name} is not mapped by this editable install, which predates it: run "
                f"`.venv/bin/python -m pip install --no-deps -e .` (or `bash scripts/setup.sh all`) in the clone")
    extra = MODULE_EXTRAS.get(top)
    if extra is None:
        return None
    return f"this command needs {top}, part of the [{extra}] extra: {install_hint(extra)}"


__all__ = ["COMMAND_NEEDS", "check_command", "clone_root", "explain_missing_module", "install_hint",
           "missing", "need"]
