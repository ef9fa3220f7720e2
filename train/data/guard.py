"""Contamination guard: no training instance may share a 13-word (English) or 13-character (Chinese)
run with any input of the held-out evaluation sets.

Held-out inputs are the ``sentences`` field of every ``test.json`` under the held-out folder; the
files are read for nothing else. Runs are compared after lower-casing: English runs over word
tokens (letters and digits), Chinese runs over the text with all whitespace removed, taken wherever
the text contains a CJK character. Runs are kept as 64-bit hashes (blake2b) to keep memory small.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable, Iterator

from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.jsonl import iter_jsonl

from .records import has_cjk

N_WORDS = 13
N_CHARS = 13
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


def word_runs(text: str, n: int = N_WORDS) -> Iterator[str]:
    words = [w for w in _WORD.findall(text.lower()) if not _CJK.search(w)]
    for i in range(len(words) - n + 1):
        yield " ".join(words[i:i + n])


def char_runs(text: str, n: int = N_CHARS) -> Iterator[str]:
    if not has_cjk(text):
        return
    s = "".join(text.lower().split())
    for i in range(len(s) - n + 1):
        run = s[i:i + n]
        if _CJK.search(run):
            yield run


def runs(text: str) -> Iterator[str]:
    yield from word_runs(text)
    yield from char_runs(text)


class Guard:
    """The run hashes of the held-out inputs; ``overlaps(text)`` tells whether ``text`` shares one."""

    def __init__(self, inputs: Iterable[str] = ()) -> None:
        self.hashes: set[int] = set()
        self.n_inputs = 0
        for text in inputs:
            self.add(text)

    def add(self, text: str) -> None:
        self.n_inputs += 1
        self.hashes.update(_h(r) for r in runs(text))

    def overlaps(self, text: str) -> bool:
        return any(_h(r) in self.hashes for r in runs(text))

    @classmethod
    def from_folder(cls, folder: Path) -> "Guard":
        """Read the ``sentences`` of every ``test.json`` (JSON lines) under ``folder``."""
        if not folder.is_dir():
            raise InvalidInputError(f"held-out folder {folder} does not exist; pass --heldout with the "
                                    "folder of the held-out evaluation sets")
        paths = sorted(folder.rglob("test.json"))
        if not paths:
            raise InvalidInputError(f"no test.json files under {folder}: the contamination guard needs "
                                    "the held-out sets (<Dataset>/tasks/<task>/test.json)")
        return cls(heldout_inputs(paths))


def heldout_inputs(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        for _, obj in iter_jsonl(path, strict=False):
            text = obj.get("sentences") if isinstance(obj, dict) else None
            if isinstance(text, str) and text.strip():
                yield text
