"""A run's ``log.jsonl``: one JSON line per logged step (loss, lr, tokens/s) and per val_loss.

The trainer appends to it; a resume cuts it back to the checkpoint's step, so steps that are trained
again are not logged twice. Reading it (curve, summary) is ``report.py``'s job.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional

from ecomlm.runtime.atomic_io import atomic_write


def append_record(path: str | os.PathLike[str], record: Dict[str, Any]) -> None:
    """Append ``record`` as one line to the log at ``path``."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def record_step(line: str) -> Optional[int]:
    """The step of a log line, or ``None`` for a torn line (a kill in the middle of its write)."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def truncate_log(path: str | os.PathLike[str], step: int) -> None:
    """Keep only the well-formed lines of steps up to ``step`` (rewritten atomically); no file, no-op."""
    path = Path(path)
    if not path.exists():
        return
    keep = [line for line in path.read_text(errors="replace").splitlines()
            if (s := record_step(line)) is not None and s <= step]
    with atomic_write(path) as f:
        f.write("".join(line + "\n" for line in keep))
