"""Long inputs of span tasks read in chunks: a model trained on short texts stops after a handful of
entities on a long product description (evaluate/finetuned/round9/), so a source of more than
``max_words`` words is cut into sentence-aligned pieces of at most ``max_words`` words, each piece
is answered on its own, and the spans are merged with their offsets in the whole source
(``EcomModel.run(chunk=)``; ``Task.chunk_words`` says where it is on by default). Words are
whitespace-separated runs, so Chinese text without spaces counts as few words and is read whole
(measured only on English)."""
from __future__ import annotations

import re
from typing import Iterable

from .results import Span, SpansResult

_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s+|\n+")
_WORD = re.compile(r"\S+")


def _windows(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """``text[start:end]`` cut into runs of at most ``max_words`` whole words."""
    words = [(m.start() + start, m.end() + start) for m in _WORD.finditer(text[start:end])]
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1]) for i in range(0, len(words), max_words)]


def source_chunks(text: str, max_words: int) -> list[tuple[int, int]]:
    """(start, end) offsets of consecutive pieces of ``text``: whole sentences packed up to
    ``max_words`` words each (a longer sentence is cut between words). Every word of ``text`` lies in
    exactly one piece, in order; a text of at most ``max_words`` words is one piece."""
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    sentences: list[tuple[int, int]] = []
    at = 0
    for m in _SENTENCE_END.finditer(text):
        sentences += _windows(text, at, m.start(), max_words)
        at = m.end()
    sentences += _windows(text, at, len(text), max_words)
    pieces: list[tuple[int, int]] = []
    count = 0
    for start, end in sentences:
        n = len(_WORD.findall(text[start:end]))
        if pieces and count + n <= max_words:
            pieces[-1] = (pieces[-1][0], end)
            count += n
        else:
            pieces.append((start, end))
            count = n
    return pieces


def merge_chunks(task: str, parts: Iterable[tuple[int, SpansResult]]) -> SpansResult:
    """One result from the results of the pieces (each with its piece's start offset): spans moved to
    their offsets in the whole source, each (type, text) kept once (its first occurrence), the raw
    answers joined by newlines, the dropped lines counted together; with consensus (every piece
    ``written`` n times), the whole's n-th answer written is the pieces' n-th joined by newlines."""
    spans: list[Span] = []
    seen: set[tuple[object, str]] = set()
    raws, dropped = [], 0
    written: list[list[str]] = []
    for offset, result in parts:
        raws.append(result.raw)
        written.append(result.written)
        dropped += result.dropped
        for s in result.spans:
            if (s.type, s.text) not in seen:
                seen.add((s.type, s.text))
                spans.append(Span(text=s.text, start=s.start + offset, end=s.end + offset, type=s.type))
    n = len(written[0]) if written else 0
    whole = ["\n".join(w[i] for w in written) for i in range(n)] if all(len(w) == n for w in written) else []
    return SpansResult(task=task, raw="\n".join(raws), written=whole, spans=spans, dropped=dropped)
