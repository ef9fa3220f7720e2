"""Reading JSONL files (one JSON value a line): the one reader behind batch inputs, corpus files, the
held-out sets, the corpus builder's dataset readers and the contamination guard.

Lines are numbered from 1 as in an editor; blank lines are skipped; a byte-order mark before the
first line is ignored. ``strict`` (batch inputs, which are written back as JSON): a line that is not
UTF-8 or holds a lone surrogate escape (``\\ud800``, which JSON allows but UTF-8 cannot encode) is an
error; otherwise bytes that are not UTF-8 read as U+FFFD and any JSON value is taken as it is.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from .errors import InvalidInputError

_BOM = b"\xef\xbb\xbf"


def parse_line(raw: bytes, *, strict: bool = True) -> Any:
    """One JSONL line as a value, or the ``InvalidInputError`` saying why it cannot be read."""
    try:
        text = raw.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as e:
        return InvalidInputError(f"not valid UTF-8 (byte {raw[e.start]:#04x} at byte {e.start + 1}); "
                                 f"save the file as UTF-8")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        return InvalidInputError(f"not valid JSON ({e.msg} at column {e.colno})")
    except RecursionError:
        return InvalidInputError("not valid JSON (nested too deeply)")
    if not strict:
        return obj
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return InvalidInputError("holds a lone surrogate escape (like \\ud800), which is not text; "
                                 "fix the line's escapes")
    except (ValueError, RecursionError):
        return InvalidInputError("holds a value that cannot be written back as JSON")
    return obj


def iter_jsonl(path: str | os.PathLike[str], *, strict: bool = True) -> Iterator[tuple[int, Any]]:
    """(line number, value or the ``InvalidInputError`` of that line) for each non-blank line of
    ``path``, streamed: the caller decides whether a bad line is skipped, reported or fatal."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"input file {str(p)!r} does not exist")
    with p.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            if raw.strip():
                yield n, parse_line(raw.rstrip(b"\r\n"), strict=strict)


def read_jsonl(path: str | os.PathLike[str], *, limit: Optional[int] = None, strict: bool = False,
               check: Optional[Callable[[Any], Optional[str]]] = None,
               error: Callable[[str], Exception] = InvalidInputError) -> Iterator[Any]:
    """The values of ``path`` in order (at most ``limit``); the first bad line raises ``error``
    with ``PATH:LINE: what is wrong`` (``check(value)`` may name what is wrong with a value)."""
    count = 0
    for n, value in iter_jsonl(path, strict=strict):
        problem = str(value) if isinstance(value, InvalidInputError) else check(value) if check else None
        if problem:
            raise error(f"{path}:{n}: {problem}")
        yield value
        count += 1
        if limit is not None and count >= limit:
            return


__all__ = ["iter_jsonl", "parse_line", "read_jsonl"]
