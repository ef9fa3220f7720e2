"""The demo's batch runs: a CSV or JSONL file in, results out as JSONL and CSV; bad rows listed.

Rows are turned into the task's fields (the chosen column feeds the task's main input, columns named
like other fields feed those, ``defaults`` fill the rest, other columns are carried along), then
``ecomlm.runtime.batch.run_batch`` does the work, so the demo and ``ecomlm run --input`` behave alike.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.atomic_io import atomic_write
from ecomlm.runtime.batch import run_batch
from ecomlm.runtime.catalog import Task
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.fields import FIELDS, OPTION_FIELDS
from ecomlm.runtime.jsonl import iter_jsonl
from ecomlm.runtime.model import EcomModel
from ecomlm.runtime.results import Result

from .forms import answer_text

MAX_ROWS = 10_000


@dataclass
class BatchOutcome:
    """Where the results went and which rows were skipped (``errors``: (row number, message))."""

    jsonl_path: Path
    csv_path: Path
    n_rows: int
    n_ok: int
    errors: list[tuple[int, str]] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)  # [row, input, answer] of the first rows


def main_field(task: Task) -> str:
    """The input a table column feeds by default: the source text, else the first required item."""
    if task.source_field:
        return task.source_field
    return next(f for f in task.required if f not in OPTION_FIELDS)


def guess_column(task: Task, columns: list[str], rows: list[tuple[int, Any]]) -> Optional[str]:
    """The column to feed the task's main input: the one named like it, else the longest text."""
    want = main_field(task)
    if want in columns:
        return want
    free = [c for c in columns if c not in FIELDS] or columns
    dicts = [r for _, r in rows[:200] if isinstance(r, dict)]

    def mean_length(column: str) -> float:
        return sum(len(str(r.get(column, ""))) for r in dicts) / max(1, len(dicts))
    return max(free, key=mean_length) if free else None


def read_rows(path: str | os.PathLike[str]) -> tuple[list[str], list[tuple[int, Any]]]:
    """(column names, [(row number, dict or an exception)]) of a ``.csv`` or ``.jsonl`` file."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"input file {str(p)!r} does not exist")
    if p.suffix.lower() == ".csv":
        with p.open(encoding="utf-8-sig", errors="replace", newline="") as f:  # bad bytes: U+FFFD
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            if not columns:
                raise InvalidInputError(f"{p.name} has no header row; the first line must name the columns")
            rows: list[tuple[int, Any]] = []
            for n, row in enumerate(reader, 1):
                if None in row:  # more cells than header columns
                    error = InvalidInputError(f"has {len(columns) + len(row[None])} cells but the "
                                              f"header names {len(columns)} columns")
                    error.cells = {k: v for k, v in row.items() if k is not None}  # type: ignore[attr-defined]
                    rows.append((n, error))
                else:
                    rows.append((n, {k: v for k, v in row.items() if v is not None}))
        return columns, rows[:MAX_ROWS]
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        items = list(iter_jsonl(p))
        columns: list[str] = []
        for _, obj in items:
            if isinstance(obj, dict):
                columns += [k for k in obj if k not in columns]
        return columns, [(i, obj) for i, (_, obj) in enumerate(items, 1)][:MAX_ROWS]
    raise InvalidInputError(f"{p.name}: upload a .csv file (with a header row) or a .jsonl file "
                            f"(one JSON object a line)")


def _cell(name: str, value: Any) -> Any:
    """A CSV cell (always a string) as the field's type."""
    return FIELDS[name].from_cell(value) if isinstance(value, str) else value


def row_fields(task: Task, row: Mapping[str, Any], column: Optional[str],
               defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The task's fields of one row (non-field columns are ignored)."""
    fields: dict[str, Any] = dict(defaults)
    target = main_field(task)
    for key, value in row.items():
        name = target if key == column else key
        if name in task.fields and value not in (None, ""):
            fields[name] = _cell(name, value)
    if column and column not in row:
        raise InvalidInputError(f"has no column {column!r}")
    if column and row.get(column) in (None, "") and target not in fields:
        raise InvalidInputError(f"the column {column!r} is empty; it feeds the input {target!r}")
    return fields


def _result_from_dict(data: Mapping[str, Any]) -> Result:
    return catalog.get_task(data["task"]).kind.result_type.from_dict(data)


def run_table(model: EcomModel, task: str, input_path: str | os.PathLike[str],
              out_dir: str | os.PathLike[str], *, column: Optional[str] = None,
              defaults: Optional[Mapping[str, Any]] = None, truncate: bool = True,
              on_item: Optional[Callable[[int, int], None]] = None) -> BatchOutcome:
    """Run ``task`` on every row of a CSV/JSONL file; write ``<name>.results.jsonl`` and ``.csv``."""
    t = catalog.get_task(task)
    columns, rows = read_rows(input_path)
    defaults = dict(defaults or {})
    errors: list[tuple[int, str]] = []
    kept: list[tuple[int, dict[str, Any]]] = []
    for n, row in rows:
        try:
            if isinstance(row, Exception):
                raise row
            if not isinstance(row, dict):
                raise InvalidInputError("is not a JSON object")
            kept.append((n, row_fields(t, row, column, defaults)))
        except InvalidInputError as e:
            errors.append((n, str(e)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(input_path).stem
    jsonl_path, csv_path = out / f"{stem}.{task}.results.jsonl", out / f"{stem}.{task}.results.csv"
    with tempfile.TemporaryDirectory(prefix="ecomlm-batch-") as tmp:
        staged, raw_out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        staged.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for _, f in kept),
                          encoding="utf-8")
        report = run_batch(model, task, staged, raw_out, truncate=truncate, progress=False,
                           on_item=on_item)
        row_of = [n for n, _ in kept]  # staged line k (1-based) is input row row_of[k-1]
        errors += [(row_of[line - 1], message) for line, message in report.errors]
        results = {row_of[r["line"] - 1]: r["result"]
                   for r in map(json.loads, raw_out.read_text(encoding="utf-8").splitlines())}
    by_row = dict(rows)
    with atomic_write(jsonl_path) as f:
        for n in sorted(results):
            f.write(json.dumps({"row": n, "input": by_row[n], "result": results[n]},
                               ensure_ascii=False) + "\n")
    preview: list[list[str]] = []
    with atomic_write(csv_path, encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["row", *columns, "answer", "error"])
        bad = dict(errors)
        for n, row in rows:
            values = row if isinstance(row, dict) else getattr(row, "cells", {})
            cells = [values.get(c, "") for c in columns]
            cells = [json.dumps(c, ensure_ascii=False) if not isinstance(c, str) else c for c in cells]
            answer = answer_text(_result_from_dict(results[n])) if n in results else ""
            writer.writerow([n, *cells, answer, bad.get(n, "")])
            if len(preview) < 50 and n in results:
                main = row_fields(t, row, column, {}).get(main_field(t), "")
                preview.append([str(n), str(main)[:120], answer])
    return BatchOutcome(jsonl_path=jsonl_path, csv_path=csv_path, n_rows=len(rows), n_ok=len(results),
                        errors=sorted(errors), preview=preview)


__all__ = ["BatchOutcome", "guess_column", "main_field", "read_rows", "row_fields", "run_table"]
