"""Packaging a finished run as the shipped default model (``runtime/adapters/<name>/``).

The shipped folder is a small run folder that both halves of the project read:

- ``adapter.gguf``: the LoRA as a GGUF adapter (llama.cpp's ``convert_lora_to_gguf.py``, float16),
  which the runtime applies to the bundled base GGUF when ``--model default`` is loaded;
- ``adapter/``: the peft adapter (float16 safetensors), which ``ecomlm merge`` / ``ecomlm export``
  merge into the base for GGUF and ONNX export;
- ``run.json``, ``config.yaml``, ``report.json``, ``log.jsonl``, ``loss.png``: what it was trained on
  and how, for the model card;
- ``layout.json``: the prompt layout the run's corpus was built with, when not the default
  (``runtime/layout.py``), so the runtime asks the adapter as it was trained;
- ``README.md`` (the model card) and ``heldout.json`` (its held-out summary, ``ecomlm models``): kept
  from the folder being replaced, to be updated by hand with the new run's figures.

The folder is assembled in a temp folder and renamed into place.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ecomlm.runtime.atomic_io import atomic_dir
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.layout import write_layout
from ecomlm.runtime.model_ref import DEFAULT_ADAPTER

RUN_FILES = ("run.json", "config.yaml", "report.json", "log.jsonl", "loss.png")
#: written by people (the model card) and by evaluation (``heldout.json``), kept when a run is re-shipped
CARD_FILES = ("README.md", "heldout.json")


def _half_precision_adapter(src: Path, dest: Path) -> None:
    """Copy a peft adapter folder, storing its weights in float16 (half the size, no loss that matters
    for a rank-16 update of float32 training)."""
    import torch
    from safetensors.torch import load_file, save_file

    dest.mkdir(parents=True)
    for item in src.iterdir():
        if item.name == "adapter_model.safetensors":
            tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(str(item)).items()}
            save_file(tensors, str(dest / item.name), metadata={"format": "pt"})
        elif item.name == "adapter_config.json":  # not peft's placeholder README: the card is ours
            shutil.copy2(item, dest / item.name)


def _run_restate(run: Path) -> dict:
    """The prompt layout ``run`` was trained with (``run.json``'s ``restate``; none before layouts)."""
    info = run / "run.json"
    return (json.loads(info.read_text()).get("restate") or {}) if info.is_file() else {}


def ship_run(run_dir: str | os.PathLike[str], dest: str | os.PathLike[str] = DEFAULT_ADAPTER.parent) -> Path:
    """Write ``run_dir``'s finished adapter as a shipped adapter folder at ``dest``; return ``dest``."""
    from ecomlm.source.merge import adapter_to_gguf

    run = Path(run_dir)
    if not (run / "adapter" / "adapter_config.json").exists():
        raise InvalidInputError(f"{run} has no finished adapter; finish the run with `ecomlm train ... --resume`")
    target = Path(dest)
    with atomic_dir(target) as tmp:
        for name in CARD_FILES:  # re-shipping keeps the hand-written model card and held-out summary
            if (target / name).is_file():
                shutil.copy2(target / name, tmp / name)
        _half_precision_adapter(run / "adapter", tmp / "adapter")
        for name in RUN_FILES:
            if (run / name).exists():
                shutil.copy2(run / name, tmp / name)
        if not (tmp / "loss.png").exists() and (run / "log.jsonl").exists():  # trained without matplotlib
            from .report import plot_loss
            plot_loss(run / "log.jsonl", tmp / "loss.png")
        adapter_to_gguf(run, tmp / "adapter.gguf", outtype="f16")
        write_layout(tmp, _run_restate(run))
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m ecomlm.train.ship``: the same as ``ecomlm ship``."""
    import argparse

    from .cli import _ship, add_ship_arguments

    parser = argparse.ArgumentParser(prog="python -m ecomlm.train.ship", description=__doc__.splitlines()[0])
    add_ship_arguments(parser)
    return _ship(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
