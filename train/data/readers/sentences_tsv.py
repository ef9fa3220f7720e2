"""``sentence<TAB>0|1`` sentiment files (UCI Sentiment Labelled Sentences). Used for
review_sentiment_uci_amazon_en."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record
from .common import ReadLog, files, safe

LABELS = {"1": "Positive", "0": "Negative"}
SPACE = ["Positive", "Negative", "Neutral"]


def parse(line: str) -> dict:
    text, _, label = line.rstrip("\n").rpartition("\t")
    if not text.strip():
        raise ValueError("no sentence")
    return {"text": " ".join(text.split()), "labels": {"sentiment": ([LABELS[label.strip()]], SPACE, False)}}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "*.txt", log, dataset):
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if not line.strip():
                continue
            data = safe(log, dataset, lambda: parse(line))
            if data:
                yield Record(dataset, f"{path.name}:{i}", lang, "label", data, native=("sentiment",))
