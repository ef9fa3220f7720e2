"""``cat,label,review`` CSV (online_shopping_10_cats): review sentiment and the product category.

The hotel category (酒店) is not a product; its reviews keep their sentiment label but are not used
for product categorisation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record
from .common import ReadLog, files, safe, table

SENTIMENT = {"1": "正面", "0": "负面"}
SENTIMENT_SPACE = ["正面", "负面", "中性"]
NOT_PRODUCTS = {"酒店"}
NATIVE = ("sentiment", "product_category")


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "zh") -> Iterator[Record]:
    paths = files(folder, "*.csv", log, dataset)
    rows = [(p, i, r) for p in paths for i, r in table(p)]
    categories = sorted({(r.get("cat") or "").strip() for _, _, r in rows} - NOT_PRODUCTS - {""})
    for path, i, row in rows:
        def make() -> Record:
            text = row["review"].strip().lstrip("\ufeff")
            cat, label = row["cat"].strip(), SENTIMENT[row["label"].strip()]
            if not text:
                raise ValueError("empty review")
            labels = {"sentiment": ([label], SENTIMENT_SPACE, False)}
            if cat not in NOT_PRODUCTS:
                labels["product_category"] = ([cat], categories, False)
            return Record(dataset, f"{path.name}:{i}", lang, "label", {"text": text, "labels": labels},
                          native=NATIVE)
        rec = safe(log, dataset, make)
        if rec:
            yield rec
