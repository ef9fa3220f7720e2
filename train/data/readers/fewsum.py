"""FewSum gold summaries TSV: cat, group_id, rev1..rev8, summ1..summ3, rating1..rating8.

One ``summary`` record per product (8 reviews -> 3 reference summaries) and one ``label`` record
per review (its star rating). Used for review_summ_fewsum_en.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, files, safe, table

STARS = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
SENTIMENT_SPACE = ["Positive", "Negative", "Neutral"]


def parse(row: dict) -> dict:
    reviews = [" ".join(row[f"rev{k}"].split()) for k in range(1, 9) if (row.get(f"rev{k}") or "").strip()]
    summaries = [" ".join(row[f"summ{k}"].split()) for k in range(1, 4) if (row.get(f"summ{k}") or "").strip()]
    ratings = [float(row[f"rating{k}"]) for k in range(1, 9) if (row.get(f"rev{k}") or "").strip()]
    if not reviews or not summaries:
        raise ValueError("no reviews or summaries")
    return {"reviews": reviews, "summaries": summaries, "ratings": ratings, "group": row["group_id"]}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "*.csv", log, dataset):
        for i, row in table(path, delimiter="\t"):
            d = safe(log, dataset, lambda: parse(row))
            if not d:
                continue
            group = norm(d["group"])
            for k, summary in enumerate(d["summaries"]):
                yield Record(dataset, f"{path.name}:{i}:s{k}", lang, "summary",
                             {"reviews": d["reviews"], "summary": summary}, native=("summarize",),
                             group=group)
            for k, (review, rating) in enumerate(zip(d["reviews"], d["ratings"])):
                stars = STARS[min(max(int(round(rating)), 1), 5) - 1]
                labels = {"classify": ([stars], STARS, False)}
                if rating >= 4 or rating <= 2:
                    labels["sentiment"] = (["Positive" if rating >= 4 else "Negative"], SENTIMENT_SPACE, False)
                yield Record(dataset, f"{path.name}:{i}:r{k}", lang, "label",
                             {"text": review, "labels": labels}, native=("classify",), group=group)
