"""MWPD 2020 product classification JSON lines: Name, Description, CategoryText, lvl1/lvl2/lvl3 (GS1).

Labels lose their GS1 code ("64010100_Jewellery" -> "Jewellery"). Each level is its own label space;
the record carries all three (``product_category@lvl1`` ...) and the multi-label set of the three.
Used for product_categorization_mwpd_en.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record, humanize, norm
from .common import ReadLog, files, jsonl, safe

NATIVE = ("product_category",)
LEVELS = ("lvl1", "lvl2", "lvl3")
MAX_DESCRIPTION = 400


def parse(obj: dict) -> dict:
    name = " ".join(str(obj.get("Name") or "").split())
    if not name:
        raise ValueError("no name")
    desc = " ".join(str(obj.get("Description") or "").split())[:MAX_DESCRIPTION]
    text = f"{name}\n{desc}" if desc else name
    return {"text": text, "name": name, "levels": {lv: humanize(str(obj[lv])) for lv in LEVELS}}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    parsed = []
    for path in files(folder, "*.json", log, dataset):
        for i, obj in jsonl(path, log, dataset):
            data = safe(log, dataset, lambda: parse(obj))
            if data:
                parsed.append((f"{path.name}:{i}", data))
    spaces = {lv: sorted({d["levels"][lv] for _, d in parsed}) for lv in LEVELS}
    union = sorted(set().union(*spaces.values())) if parsed else []
    for rid, d in parsed:
        labels = {f"product_category@{lv}": ([d["levels"][lv]], spaces[lv], False) for lv in LEVELS}
        labels["multi_classify"] = (list(dict.fromkeys(d["levels"][lv] for lv in LEVELS)), union, True)
        yield Record(dataset, rid, lang, "label", {"text": d["text"], "labels": labels}, native=NATIVE,
                     group=norm(d["name"]))
