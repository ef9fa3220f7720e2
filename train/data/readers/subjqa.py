"""SubjQA CSV: question, review (ends with the ANSWERNOTFOUND marker), human_ans_spans, subjectivity.

Other reviews of the same item are kept as a ``pool`` so generators can build long contexts
(several reviews, up to ~2k tokens) around the one that holds the answer. Used for subjqa_products_en.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, files, safe, table

NATIVE = ("qa", "subjectivity")
MARKER = "ANSWERNOTFOUND"


def parse(row: dict) -> dict:
    context = row["review"].strip()
    if context.endswith(MARKER):
        context = context[: -len(MARKER)].strip()
    question = row["question"].strip()
    if not context or not question:
        raise ValueError("empty question or review")
    span = row["human_ans_spans"].strip()
    answer = None if span == MARKER or not span else span
    if answer is not None and answer not in context:
        # spans were re-tokenised ("anti - glare"); the character offsets still point at the review
        start, end = (int(x) for x in row["human_ans_indices"].strip("() ").split(","))
        if "".join(context[start:end].split()) != "".join(answer.split()):
            raise ValueError("answer is not a span of the review")
        answer = context[start:end]
    subjective = {"true": True, "false": False}[row["is_ques_subjective"].strip().lower()]
    return {"question": question, "context": context, "answer": answer, "subjective": subjective,
            "item": row["item_id"], "domain": row.get("domain", "")}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    parsed = []
    for path in files(folder, "**/*.csv", log, dataset):
        for i, row in table(path):
            data = safe(log, dataset, lambda: parse(row))
            if data:
                parsed.append((f"{path.parent.name}/{path.name}:{i}", data))
    by_item: dict[str, list[str]] = defaultdict(list)
    for _, d in parsed:
        if d["context"] not in by_item[d["item"]]:
            by_item[d["item"]].append(d["context"])
    for rid, d in parsed:
        d["pool"] = [c for c in by_item[d["item"]] if c != d["context"]]
        yield Record(dataset, rid, lang, "qa", d, native=NATIVE,
                     group=norm(d["question"] + " || " + d["context"]))
