"""Locating answer strings in the input: a span is returned only with offsets where it really occurs."""
from __future__ import annotations

from typing import Iterable, Optional

from .results import Span


def find_span(source: str, text: str, used: Optional[set[tuple[int, int]]] = None,
              type: Optional[str] = None) -> Optional[Span]:
    """Return the first occurrence of ``text`` in ``source`` not already in ``used``.

    Matching is exact first, then case-insensitive (the returned text is always the source's own
    characters). ``None`` when ``text`` does not occur: the caller drops it and counts it.
    """
    text = text.strip()
    if not text:
        return None
    used = used if used is not None else set()
    for haystack, needle in ((source, text), (source.lower(), text.lower())):
        if len(haystack) != len(source):  # lower() changed lengths (rare Unicode): skip the fallback
            continue
        start = haystack.find(needle)
        while start != -1:
            end = start + len(needle)
            if (start, end) not in used:
                used.add((start, end))
                return Span(text=source[start:end], start=start, end=end, type=type)
            start = haystack.find(needle, start + 1)
    return None


def locate_all(source: str, items: Iterable[tuple[Optional[str], str]]) -> tuple[list[Span], int]:
    """Locate ``(type, text)`` items in ``source``; return the spans found and how many were dropped.

    Exact duplicates (same type and text) that occur only once in the source count once, not as drops.
    """
    used: set[tuple[int, int]] = set()
    seen: set[tuple[Optional[str], str]] = set()
    spans: list[Span] = []
    dropped = 0
    for type_, text in items:
        key = (type_, text.strip().lower())
        span = find_span(source, text, used, type_)
        if span is not None:
            spans.append(span)
            seen.add(key)
        elif key not in seen:
            dropped += 1
    spans.sort(key=lambda s: (s.start, s.end))
    return spans, dropped
