"""Character-level BIOES NER files (``char<TAB>tag`` lines, blank line between sentences).

Used for ecom_ner_zh (Ding et al. 2019): HP = brand, HC = product. Tags are mapped onto the coarse
English types the runtime uses (Brand / Product), so Chinese and English NER share one label set.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, blocks, files, safe

TYPE_NAMES = {"HP": "Brand", "HC": "Product"}
NATIVE = ("ner",)


def parse_block(lines: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """The sentence and its (type, surface) entities, in order."""
    chars: list[str] = []
    entities: list[tuple[str, str]] = []
    start, etype = -1, ""
    for line in lines:
        ch, _, tag = line.rpartition("\t") if "\t" in line else line.rpartition(" ")
        if not _ or not tag:
            raise ValueError(f"bad line {line!r}")
        ch = " " if ch in ("", "␠") else ch
        pos = len(chars)
        chars.append(ch)
        head, _, t = tag.partition("-")
        if head in ("B", "S"):
            start, etype = pos, t
        if head in ("E", "S") and start >= 0 and t == etype:
            surface = "".join(chars[start:pos + 1]).strip()
            if surface:
                entities.append((TYPE_NAMES.get(t, t), surface))
            start = -1
        elif head == "O":
            start = -1
    text = "".join(chars).strip()
    if not text:
        raise ValueError("empty sentence")
    return text, entities


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "zh") -> Iterator[Record]:
    for path in files(folder, "*.bieos", log, dataset):
        for i, block in enumerate(blocks(path)):
            parsed = safe(log, dataset, lambda: parse_block(block))
            if parsed is None:
                continue
            text, entities = parsed
            yield Record(dataset, f"{path.name}:{i}", lang, "ner",
                         {"text": text, "entities": entities, "types": sorted(TYPE_NAMES.values())},
                         native=NATIVE, group=norm(text))
