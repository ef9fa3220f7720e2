"""Reading a corpus file written by ``ecomlm data build`` (``train.jsonl``, ``val.jsonl``): one
record a line, each with its chat ``messages``."""
from __future__ import annotations

import os
from typing import Any, Iterator, Optional

from ecomlm.runtime.jsonl import read_jsonl


def _corpus_problem(record: Any) -> Optional[str]:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list) or not record["messages"]:
        return "no 'messages' list; corpus lines come from `ecomlm data build`"
    return None


def read_corpus(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The records of a corpus file, in order; the first bad line is an ``InvalidInputError`` naming
    the file and line."""
    return read_jsonl(path, check=_corpus_problem)


__all__ = ["read_corpus"]
