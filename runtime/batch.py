"""Running one task over a JSONL file of inputs: bad lines are reported and skipped, never fatal."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from .atomic_io import atomic_write
from .catalog import get_task
from .errors import EcomError, InvalidInputError
from .model import EcomModel


@dataclass
class BatchReport:
    """What a batch run did: ``errors`` holds (line number, message) for each skipped line."""

    n_lines: int = 0
    n_ok: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def read_jsonl_items(path: str | os.PathLike[str]) -> list[tuple[int, Any]]:
    """(line number, parsed object or the exception) for each non-blank line of ``path``."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"input file {str(p)!r} does not exist")
    items: list[tuple[int, Any]] = []
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                items.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                items.append((n, InvalidInputError(f"not valid JSON ({e.msg} at column {e.colno})")))
    return items


def run_batch(model: EcomModel, task: str, input_path: str | os.PathLike[str],
              output_path: str | os.PathLike[str], defaults: Optional[Mapping[str, Any]] = None,
              *, truncate: bool = False, progress: bool = True,
              on_item: Optional[Callable[[int, int], None]] = None) -> BatchReport:
    """Run ``task`` on every JSON object line of ``input_path``; write one result line per good input.

    ``defaults`` fill fields a line does not give (e.g. the label set for every line). Output lines
    are ``{"line": n, "input": {...}, "result": {...}}``; the file appears only when complete.
    """
    get_task(task)  # unknown task: fail before reading anything
    items = read_jsonl_items(input_path)
    report = BatchReport(n_lines=len(items))
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), desc=f"ecomlm {task}", unit="item")
    with atomic_write(output_path) as out:
        for i, (n, obj) in enumerate(items):
            try:
                if isinstance(obj, Exception):
                    raise obj
                if not isinstance(obj, dict):
                    raise InvalidInputError("each line must be a JSON object of the task's inputs")
                fields = {**(defaults or {}), **obj}
                result = model.run(task, truncate=truncate, **fields)
                out.write(json.dumps({"line": n, "input": obj, "result": result.to_dict()},
                                     ensure_ascii=False) + "\n")
                report.n_ok += 1
            except EcomError as e:
                report.errors.append((n, str(e)))
            if bar is not None:
                bar.update(1)
            if on_item is not None:
                on_item(i + 1, len(items))
    if bar is not None:
        bar.close()
    return report
