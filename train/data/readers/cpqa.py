"""Amazon contextual product QA CSV/TSV files (semiPQA, hetPQA, ePQA).

- ``*/answer_generation/*.csv`` (TSV): question, candidate (evidence), answer -> free answer.
- ``*/evidence_ranking/*.csv``, ``*/attribute_ranking/*.csv`` (TSV): question, candidate, label 0/1
  -> evidence relevance.
- ``ePQA/*.csv`` (comma CSV): question, candidate, label 0 (irrelevant) / 1 (relevant) / 2 (answers),
  answer -> relevance, answerability, free answer.
semiPQA data-to-text is not used (no catalog task fits it). Used for product_qa_cpqa_en.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from ..records import Record, norm
from .common import ReadLog, files, safe, table

MAX_CONTEXT = 1500


def _clean(text: str) -> str:
    return " ".join(str(text or "").split())[:MAX_CONTEXT]


def parse(row: dict, layout: str) -> Optional[dict]:
    q, c = _clean(row["question"]), _clean(row["candidate"])
    if not q or not c:
        raise ValueError("empty question or candidate")
    if layout == "answer_generation":
        answer = _clean(row["answer"])
        if not answer:
            raise ValueError("no answer")
        return {"question": q, "context": c, "relevant": True, "answers": True, "answer": answer}
    label = int(row["label"])
    if layout == "epqa":
        answer = _clean(row.get("answer") or "") or None
        return {"question": q, "context": c, "relevant": label > 0,
                "answers": {0: False, 2: True}.get(label), "answer": answer if label == 2 else None}
    return {"question": q, "context": c, "relevant": label > 0, "answers": None, "answer": None}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "**/*.csv", log, dataset):
        parts = path.relative_to(folder).parts
        if "data-to-text" in parts:
            continue
        if parts[0] == "ePQA":
            layout, delim, native = "epqa", ",", ("evidence_relevance",)
        elif "answer_generation" in parts:
            layout, delim, native = "answer_generation", "\t", ("answer_question",)
        else:
            layout, delim, native = "ranking", "\t", ("evidence_relevance",)
        for i, row in table(path, delimiter=delim):
            data = safe(log, dataset, lambda: parse(row, layout))
            if data:
                yield Record(dataset, f"{'/'.join(parts)}:{i}", lang, "relevance", data, native=native,
                             group=norm(data["question"] + " || " + data["context"]))
