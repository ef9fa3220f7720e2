"""Hu & Liu (2004) customer-review files: ``feature[+2], other[-1]##sentence`` lines.

``[t]`` lines are review titles, ``*`` lines the header. Features marked ``[u]`` / ``[p]`` do not occur
in the sentence; a sentence whose features cannot all be found is kept for aspect sentiment only.
Used for customer_reviews_huliu_en (latin-1).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, files, safe

NATIVE = ("aspect_polarity_pairs",)
_FEATURE = re.compile(r"^(?P<term>[^\[]+)(?P<tags>(\[[^\]]*\])*)$")
_SCORE = re.compile(r"\[([+-])(\d)\]")


def parse_line(line: str) -> tuple[str, list[tuple[str, str]], bool]:
    """(sentence, [(feature, polarity)] found in it, whether every annotated feature was found)."""
    head, _, sentence = line.partition("##")
    sentence = " ".join(sentence.split())
    if not sentence:
        raise ValueError("no sentence")
    aspects: list[tuple[str, str]] = []
    complete = True
    for item in filter(None, (x.strip() for x in head.split(","))):
        m = _FEATURE.match(item)
        if not m:
            raise ValueError(f"bad feature {item!r}")
        term, tags = m.group("term").strip(), m.group("tags")
        score = sum(int(d) * (1 if s == "+" else -1) for s, d in _SCORE.findall(tags))
        if "[u]" in tags or "[p]" in tags or term not in sentence:
            complete = False
            continue
        pol = "positive" if score > 0 else "negative" if score < 0 else "neutral"
        if (term, pol) not in aspects:
            aspects.append((term, pol))
    return sentence, aspects, complete


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "*.txt", log, dataset):
        if path.name.lower() == "readme.txt":
            continue
        for i, line in enumerate(path.read_text(encoding="latin-1").splitlines()):
            if "##" not in line or line.startswith("*") or line.startswith("[t]"):
                continue
            parsed = safe(log, dataset, lambda: parse_line(line))
            if not parsed:
                continue
            text, aspects, complete = parsed
            yield Record(dataset, f"{path.name}:{i}", lang, "absa",
                         {"text": text, "aspects": aspects, "opinions": None, "categories": None,
                          "entities": None, "domain": path.stem, "complete": complete},
                         native=NATIVE, group=norm(text))
