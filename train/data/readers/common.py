"""What every reader shares: a log of warnings and malformed records, and safe file iteration."""
from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

from ecomlm.runtime.jsonl import iter_jsonl

T = TypeVar("T")
csv.field_size_limit(sys.maxsize)

# Exceptions that mean "this one record is broken": counted, never raised.
RECORD_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)


@dataclass
class ReadLog:
    """Warnings (missing folders or files) and malformed-record counts per dataset."""

    warnings: list[str] = field(default_factory=list)
    malformed: Counter = field(default_factory=Counter)
    read: Counter = field(default_factory=Counter)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"warning: {message}", file=sys.stderr)

    def bad(self, dataset: str, n: int = 1) -> None:
        self.malformed[dataset] += n


def files(folder: Path, pattern: str, log: ReadLog, dataset: str) -> list[Path]:
    """Files matching ``pattern`` under ``folder`` (sorted); a warning when there are none."""
    found = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not found:
        log.warn(f"{dataset}: no files match {pattern!r} in {folder}")
    return found


def safe(log: ReadLog, dataset: str, make: Callable[[], Optional[T]]) -> Optional[T]:
    """Run ``make``; a broken record is counted as malformed and gives ``None``."""
    try:
        return make()
    except RECORD_ERRORS:
        log.bad(dataset)
        return None


def jsonl(path: Path, log: ReadLog, dataset: str) -> Iterator[tuple[int, dict]]:
    """(line index from 0, object) for each line that parses as a JSON object; others are counted."""
    for n, obj in iter_jsonl(path, strict=False):
        if isinstance(obj, dict):
            yield n - 1, obj
        else:
            log.bad(dataset)


def table(path: Path, delimiter: str = ",", encoding: str = "utf-8-sig") -> Iterator[tuple[int, dict]]:
    """(row number, row dict) of a CSV/TSV file with a header."""
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        yield from enumerate(csv.DictReader(fh, delimiter=delimiter))


def blocks(path: Path, encoding: str = "utf-8") -> Iterator[list[str]]:
    """Blank-line separated blocks of non-empty lines (CoNLL-style files)."""
    block: list[str] = []
    with path.open(encoding=encoding, errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.strip():
                block.append(line)
            elif block:
                yield block
                block = []
    if block:
        yield block
