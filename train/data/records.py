"""The plain record every reader yields, and the small text helpers readers and generators share."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")
_CJK_CLASS = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK_CLASS}]) (?=[{_CJK_CLASS}])")


@dataclass
class Record:
    """One annotated source item (a sentence, an offer, a pair, a question ...).

    ``kind`` fixes the layout of ``data`` (see ``KINDS``); ``native`` names the tasks that are the
    dataset's own labels (every other task built from the record is *atomic*); ``group`` is the key
    that keeps a record, and any copy of it in an overlapping dataset, on one side of the split.
    """

    dataset: str
    rid: str
    lang: str
    kind: str
    data: dict[str, Any]
    native: tuple[str, ...] = ()
    group: str = field(default="")

    def __post_init__(self) -> None:
        if not self.group:
            self.group = norm(str(self.data.get("text") or self.data.get("question") or self.rid))


# What ``data`` holds for each kind (documentation; readers follow it, generators rely on it).
KINDS = {
    "ner": "text; entities: [(type, surface)]; types: every type the dataset uses",
    "attributes": "text; attrs: [(name, value)]; absent: [name]; category; title",
    "specs": "specs: {name: value}; copy (text written from the specs)",
    "absa": "text; aspects: [(term, polarity)] or None; opinions: [(aspect, opinion, polarity)] or None; "
            "categories: [(category, polarity)] or None; entities: [(type, surface)] or None; domain",
    "label": "text; labels: {task: (gold labels, label space, multi)}",
    "pair": "a; b; match; a_fields/b_fields: {column: value}",
    "qa": "question; context; answer (span of context) or None; pool: other contexts; subjective",
    "relevance": "question; context; relevant (bool); answer (free text) or None",
    "summary": "reviews: [text]; summary; ratings: [float]",
}


def norm(text: str) -> str:
    """Lower-cased, whitespace-collapsed text: the key for deduplication and splitting."""
    return _SPACE.sub(" ", text).strip().lower()


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def dechar(text: str) -> str:
    """Undo character-level tokenisation of Chinese text ("屏 幕 大 小" -> "屏幕大小").

    Spaces between two CJK characters are removed; spaces next to Latin text are kept once.
    """
    text = _SPACE.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)


def polarity(value: Any) -> str:
    """positive / negative / neutral from the many spellings the datasets use."""
    v = str(value).strip().lower()
    table = {"positive": "positive", "pos": "positive", "1": "positive", "+": "positive",
             "negative": "negative", "neg": "negative", "-1": "negative", "-": "negative",
             "neutral": "neutral", "neu": "neutral", "0": "neutral", "conflict": "conflict"}
    if v not in table:
        raise ValueError(f"unknown polarity {value!r}")
    return table[v]


def humanize(label: str) -> str:
    """Turn annotation codes into words: "BATTERY#OPERATION_PERFORMANCE" -> "battery operation performance"."""
    label = re.sub(r"^\d+_", "", label.strip())          # GS1 codes: "64010100_Jewellery"
    return _SPACE.sub(" ", re.sub(r"[#_]", " ", label)).strip().lower() if "#" in label or label.isupper() \
        else label


def contains(text: str, span: str) -> bool:
    return bool(span) and span in text


@dataclass
class Draft:
    """A task instance before rendering: catalog task name, input fields, gold answer (in the form
    ``catalog.format_answer`` takes), and optionally a balance bucket of its own for the builder's
    round-robin (``build.ordered``), so that a rare kind of instance gets its share of the cap."""

    task: str
    fields: dict[str, Any]
    gold: Any
    bucket: str = ""
