"""Run an ecomlm command with one task specialist of a registered model taken from another folder,
for every input language (how a candidate specialist is measured before it ships).

    python evaluate/finetuned/specialists/swap_specialist.py MODEL TASK FOLDER MODULE [ARGS...]

FOLDER holds an adapter.gguf (``ecomlm ship RUN --dest FOLDER``); MODULE is the module to run as
``python -m`` would (``ecomlm.cli.main``, ``ecomlm.evaluate.repeat_check``). Every specialist entry
of TASK in MODEL's registry entry is replaced by one entry for FOLDER with no language scope.
"""
from __future__ import annotations

import dataclasses
import runpy
import sys
from pathlib import Path

from ecomlm.runtime import models


def main(argv: list[str]) -> None:
    if len(argv) < 4:
        raise SystemExit(__doc__)
    name, task, folder, module = argv[0], argv[1], Path(argv[2]).resolve(), argv[3]
    if not (folder / "adapter.gguf").exists():
        raise SystemExit(f"{folder} holds no adapter.gguf: ship a run there first (ecomlm ship RUN --dest {folder})")
    model = models.shipped_model(name)
    dirs = tuple(d for d in model.specialist_dirs if d[0] != task) + ((task, folder),)
    models.MODELS[name] = dataclasses.replace(model, specialist_dirs=dirs)
    print(f"{name}: {task} answered by {folder}", file=sys.stderr)
    sys.argv = [module] + argv[4:]
    runpy.run_module(module, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
