"""Ditto entity-matching lines: ``COL a VAL x COL b VAL y <TAB> COL a VAL ... <TAB> 0|1``.

Each record is one pair; the offer text shown to the model is its title/name followed by the
other non-empty columns. Used for product_matching_wdc_en and product_matching_magellan_en.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, files, safe

NATIVE = ("same_product",)
_COL = re.compile(r"COL (\S+) VAL")
MAX_CHARS = 600


def columns(entry: str) -> dict[str, str]:
    parts = _COL.split(entry.strip())
    if len(parts) < 3:
        raise ValueError("no COL/VAL pairs")
    out: dict[str, str] = {}
    for name, value in zip(parts[1::2], parts[2::2]):
        value = " ".join(value.split()).strip()
        if value and value.lower() not in ("nan", "null", '"null"'):
            out[name] = value
    return out


def offer_text(cols: dict[str, str]) -> str:
    head = cols.get("title") or cols.get("name") or ""
    rest = [f"{k}: {v}" for k, v in cols.items() if k not in ("title", "name")]
    text = "; ".join([head] + rest if head else rest)
    if not text:
        raise ValueError("empty offer")
    return text[:MAX_CHARS]


def parse(line: str) -> dict:
    a, b, label = line.rstrip("\n").split("\t")
    if label.strip() not in ("0", "1"):
        raise ValueError(f"bad label {label!r}")
    ca, cb = columns(a), columns(b)
    return {"a": offer_text(ca), "b": offer_text(cb), "match": label.strip() == "1",
            "a_fields": ca, "b_fields": cb}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "**/*.txt*", log, dataset):
        sub = path.parent.name
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if not line.strip():
                continue
            data = safe(log, dataset, lambda: parse(line))
            if data:
                data["domain"] = sub
                yield Record(dataset, f"{sub}/{path.name}:{i}", lang, "pair", data, native=NATIVE,
                             group=norm(data["a"] + " || " + data["b"]))
