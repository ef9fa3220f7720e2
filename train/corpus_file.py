"""Reading a corpus file written by ``ecomlm data build`` (``train.jsonl``, ``val.jsonl``): one
record a line, each with its chat ``messages``."""
from __future__ import annotations

import os
import random
from typing import Any, Iterator, Optional

from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.jsonl import read_jsonl


def _corpus_problem(record: Any) -> Optional[str]:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list) or not record["messages"]:
        return "no 'messages' list; corpus lines come from `ecomlm data build`"
    return None


def read_corpus(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The records of a corpus file, in order; the first bad line is an ``InvalidInputError`` naming
    the file and line."""
    return read_jsonl(path, check=_corpus_problem)


def sample_corpus(path: str | os.PathLike[str], limit: int, lang: Optional[str] = None,
                  seed: int = 0) -> list[dict]:
    """``limit`` records of a corpus file (of language ``lang`` if given), a seeded sample, so that
    two commands given the same file, limit and seed read the same records."""
    records = [r for r in read_corpus(path) if lang in (None, r.get("lang"))]
    if not records:
        raise InvalidInputError(f"{str(path)!r} has no records" + (f" in language {lang!r}" if lang else ""))
    random.Random(seed).shuffle(records)
    return records[:limit]


__all__ = ["read_corpus", "sample_corpus"]
