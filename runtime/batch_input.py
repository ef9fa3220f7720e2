"""Input files of a batch run: JSONL (one object per line) or CSV (a header row naming the task's
inputs, one item per row), chosen by the file's extension (``.csv``; anything else is JSONL).

CSV cells are text: a list input (labels, types, ...) is one comma-separated cell (``reviews``, which
hold commas, are separated by ``||`` as on the command line), ``specs`` is
``key=value;key=value`` or a JSON object, and an empty cell leaves the input out (so ``defaults`` or
the task's default fill it). Items are numbered by their line in the file (a CSV's header is line 1),
the same numbering ``--resume`` and error reports use.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Iterator

from .errors import InvalidInputError
from .fields import FIELDS, REVIEW_SEPARATOR


def is_csv(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() == ".csv"


def iter_csv_items(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """(line number, object of inputs or the error) for each non-blank row of a CSV file."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"input file {str(p)!r} does not exist")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{str(p)!r} is not valid UTF-8 (byte {e.start + 1}); save it as "
                                f"UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise InvalidInputError(f"{str(p)!r} has no header row; its first row must name the task's "
                                f"inputs (e.g. text,labels)")
    names = [h.strip() for h in header]
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            yield line, InvalidInputError(f"has {len(row)} cells but the header names {len(names)} "
                                          f"columns (quote a cell that holds a comma)")
            continue
        item: dict[str, Any] = {}
        for name, cell in zip(names, row):
            if cell.strip():
                item[name] = FIELDS[name].from_text(cell) if name in FIELDS else cell
        yield line, item


def count_csv_items(path: str | os.PathLike[str]) -> int:
    return sum(1 for _ in iter_csv_items(path))


__all__ = ["REVIEW_SEPARATOR", "count_csv_items", "is_csv", "iter_csv_items"]
