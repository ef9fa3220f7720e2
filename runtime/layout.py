"""The prompt layout an adapter was trained with, so that it is asked in the same layout.

A corpus can lay some tasks' user turns out differently from the catalog's default: ``ecomlm data
build --restate qa=question`` writes the question once more after the context
(``catalog.render_user``'s ``restate``). The layout travels with what is trained on it:

- the corpus records it in ``stats.json`` (``config.restate``; ``corpus_restate``);
- a training run copies it into ``run.json`` (``restate``);
- ``ecomlm ship`` writes it beside the adapter as ``layout.json`` (``write_layout``), and the runtime
  reads it there (``read_restate``) for the tasks that adapter answers.

No file (every adapter shipped before layouts existed) means the catalog's default layout.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from .atomic_io import atomic_write
from .errors import ModelLoadError

LAYOUT_FILE = "layout.json"

#: task name -> the item fields its user turn restates after the inputs
Restate = Mapping[str, Sequence[str]]


def _restate_of(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v)
            for k, v in value.items()):
        raise ModelLoadError(f"{where}: 'restate' must map task names to lists of field names, got {value!r}")
    return {task: tuple(names) for task, names in value.items() if names}


def corpus_restate(data: str | os.PathLike[str]) -> dict[str, tuple[str, ...]]:
    """The layout of the corpus ``data`` (a split or a filtered copy of one) was built with: read from
    ``stats.json`` in its folder; empty when there is none (a hand-made file)."""
    stats = Path(data).parent / "stats.json"
    try:
        config = json.loads(stats.read_text(encoding="utf-8")).get("config", {})
    except (OSError, ValueError):
        return {}
    return _restate_of(config.get("restate") or {}, str(stats))


def write_layout(folder: str | os.PathLike[str], restate: Restate) -> None:
    """Write ``layout.json`` into an adapter folder (atomically); nothing when ``restate`` is empty."""
    if restate:
        with atomic_write(Path(folder) / LAYOUT_FILE) as fh:
            json.dump({"restate": {task: list(names) for task, names in restate.items()}}, fh, indent=2)
            fh.write("\n")


def read_restate(adapter: str | os.PathLike[str] | None) -> dict[str, tuple[str, ...]]:
    """The layout of the adapter file ``adapter`` (its folder's ``layout.json``); empty for none or no
    adapter. Raises ``ModelLoadError`` for a file that does not read."""
    if adapter is None:
        return {}
    path = Path(adapter).parent / LAYOUT_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelLoadError(f"{path} is not valid JSON ({exc}); ship the adapter again with `ecomlm ship`") from None
    return _restate_of(data.get("restate") if isinstance(data, dict) else None, str(path))


__all__ = ["LAYOUT_FILE", "Restate", "corpus_restate", "read_restate", "write_layout"]
