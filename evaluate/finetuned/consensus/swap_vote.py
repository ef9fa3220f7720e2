"""Run an ecomlm command with one task's vote rule replaced (how a vote rule is measured on the
held-out set before it becomes the task's default).

    python evaluate/finetuned/consensus/swap_vote.py TASK RULE MODULE [ARGS...]

RULE is one of ``runtime.task.VOTE_RULES`` (``share``, ``expected_f1``); MODULE is the module to run
as ``python -m`` would (``ecomlm.cli.main``, ``ecomlm.evaluate.consensus_check``).
"""
from __future__ import annotations

import dataclasses
import runpy
import sys

from ecomlm.runtime import catalog


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit(__doc__)
    name, rule, module = argv[0], argv[1], argv[2]
    catalog.TASKS[name] = dataclasses.replace(catalog.get_task(name), vote=rule)  # checked by Task
    print(f"{name}: vote {rule}", file=sys.stderr)
    sys.argv = [module] + argv[3:]
    runpy.run_module(module, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
