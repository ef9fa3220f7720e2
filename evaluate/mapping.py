"""How each EcomGPT held-out task is asked through our task catalog, and how its answers are compared.

The held-out sets come with the paper's own prompts (``test_prompt`` in meta-info.json). We do not use
them: a model of this project is asked every task through ``ecomlm.runtime.catalog`` (the prompts it
is trained on and that users call), so the inputs are split into the catalog task's fields.

| held-out task | catalog task | fields built from the instance | compared |
|---|---|---|---|
| EN-Lenovo-NER-NER | ner | text; types = the task's label set | (type, span) pairs |
| EN-Lenovo-Condition_Extract-* | span_detection | text; types = label set | spans |
| EN-Reddit_QA-Extract-Extract_QA | qa (allow_none=False) | ``Context: ...`` / ``Question: ...`` split | answer text |
| EN-ABSA-CLS-review_topic_category | review_topic | text; labels = label set | labels |
| ZH-MEPAVE-NER-attribute_value_extraction | attribute_extraction | text; attributes = label set | (attribute, value) pairs |
| ZH-MEPAVE-Condition_Extract-attribute_value_detection | span_detection | text; types = attribute names | spans |
| ZH-Multi_CPR-Extract-product_select_2 | select_product | query; candidates split on ", " | chosen document |
| ZH-Multi_CPR-CLS-query_item_matching | query_match | ``Query:`` / ``Doc:`` split; Yes/No -> match/not match | labels |
| ZH-OpenBG_Align-CLS-item_align | same_product | ``Item 1:`` / ``Item 2:`` split; Yes/No -> same/not same | labels |
| ZH-OpenBG_Align-CLS-title_attribute_matching | attribute_match | title; specs parsed from ``k#:#v#;#`` | labels |
| ZH-OpenBG_Align-CLS-item_coarse/fine_classify | product_category | title and specs as text; labels = label set | labels |
| ZH-OpenBG_Align-Generate-title_generate | title_generation | specs parsed from ``k#:#v#;#`` | title text |

Only ``sentences`` (and a per-line ``label_set``) build the fields: gold answers are read only to score.
What is compared, and by which metrics, is the catalog task's output kind's (``kinds/``: ``metrics``,
``scored``, ``scored_gold``): gold answers go through the catalog's own formatter and parser
(``catalog.gold_result``) where the answer has the catalog's form (spans, typed spans, a chosen
candidate, an answer span), so prediction and gold are normalised the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.kinds import OutputKind
from ecomlm.runtime.results import Result

from .heldout import HeldoutFormatError, HeldoutTask

METRIC_NAMES = ("micro_f1", "macro_f1", "rouge_l")


@dataclass(frozen=True)
class Answer:
    """A prediction or gold answer in comparable form.

    ``items`` are ``(class, value)`` pairs for set metrics (class = type or label, ``None`` for
    untyped spans); ``text`` is what Rouge-L compares.
    """

    items: tuple[tuple[Optional[str], str], ...]
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"items": [list(i) for i in self.items], "text": self.text}


@dataclass(frozen=True)
class TaskMapping:
    """How one held-out task runs on the catalog: the task, the fields, and the answer conversions
    (those and the metrics are the catalog task's output kind's)."""

    catalog_task: str
    build_fields: Callable[[HeldoutTask, dict[str, Any]], dict[str, Any]]
    #: for yes/no catalog tasks: the held-out labels for (yes, no)
    yes_no_labels: Optional[tuple[str, str]] = None
    #: cut an over-long context to fit the model's window instead of failing the item
    truncate: bool = False
    #: whether the span answer may be "None" (False: the task's own prompt asks for an extraction)
    allow_none: bool = True

    @property
    def kind(self) -> OutputKind:
        return catalog.get_task(self.catalog_task).kind

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.kind.metrics


# -- parsing the held-out input strings -------------------------------------------------------------
def parse_specs(text: str) -> dict[str, str]:
    """``k#:#v#;#k#:#v`` -> {k: v}; a repeated key keeps all its values, joined with ", "."""
    specs: dict[str, list[str]] = {}
    for part in text.split("#;#"):
        key, sep, value = part.partition("#:#")
        key, value = key.strip(), value.strip()
        if sep and key and value and value not in specs.setdefault(key, []):
            specs[key].append(value)
    return {k: ", ".join(v) for k, v in specs.items() if v}


def readable_specs(text: str) -> str:
    """``k#:#v#;#k#:#v`` -> ``k: v; k: v`` (anything else unchanged)."""
    return text.replace("#;#", "; ").replace("#:#", ": ")


def _split(text: str, pattern: str, what: str, task: HeldoutTask) -> list[str]:
    parts = re.split(pattern, text, maxsplit=1)
    if len(parts) != 2:
        raise HeldoutFormatError(f"{task.name}: expected {what} in {text[:80]!r}")
    return [p.strip() for p in parts]


def _strip_prefix(text: str, prefix: str) -> str:
    text = text.strip()
    return text[len(prefix):].strip() if text.startswith(prefix) else text


def _item_text(item: str) -> str:
    """``title, k#:#v#;#...`` (an OpenBG item) -> ``title; k: v; ...``."""
    return readable_specs(item.strip().rstrip(","))


def _labels(task: HeldoutTask, inst: dict[str, Any]) -> list[str]:
    labels = task.labels_for(inst)
    if not labels:
        raise HeldoutFormatError(f"{task.name}: no label set in meta-info.json or the instance")
    return labels


# -- field builders (they read ``sentences`` and label sets only, never the gold answer) ---------------
def _text_types(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    return {"text": inst["sentences"], "types": _labels(task, inst)}


def _text_attributes(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    return {"text": inst["sentences"], "attributes": _labels(task, inst)}


def _text_labels(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    return {"text": inst["sentences"], "labels": _labels(task, inst)}


def _product_text_labels(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    title, _, specs = inst["sentences"].partition("\t")
    text = title.strip() + (f"; {readable_specs(specs.strip())}" if specs.strip() else "")
    return {"text": text, "labels": _labels(task, inst)}


def _qa(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    text = inst["sentences"]
    cut = text.rfind("\nQuestion:")
    if cut < 0:
        raise HeldoutFormatError(f"{task.name}: expected 'Context: ...\\nQuestion: ...' in {text[:80]!r}")
    return {"context": _strip_prefix(text[:cut], "Context:"),
            "question": _strip_prefix(text[cut + 1:], "Question:")}


def _query_doc(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    query, doc = _split(inst["sentences"], r"\n\s*Doc:", "'Query: ...\\nDoc: ...'", task)
    return {"query": _strip_prefix(query, "Query:"), "product": doc}


def _query_candidates(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    query, cands = _split(inst["sentences"], r"\n\s*Candidate Document:",
                          "'Query: ...\\nCandidate Document: a, b, ...'", task)
    cands = cands[:-1] if cands.endswith(".") else cands
    seen: set[str] = set()
    candidates = []
    for c in (c.strip() for c in cands.split(", ")):
        if c and c.lower() not in seen:  # the catalog refuses duplicates
            seen.add(c.lower())
            candidates.append(c)
    return {"query": _strip_prefix(query, "Query:"), "candidates": candidates}


def _two_items(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    a, b = _split(inst["sentences"], r"\n\s*Item 2:", "'Item 1: ...\\nItem 2: ...'", task)
    return {"product_a": _item_text(_strip_prefix(a, "Item 1:")), "product_b": _item_text(b)}


def _title_specs(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    title, specs = _split(inst["sentences"], r",\s*Attr\w*:", "'Title: ..., Attritute: ...'", task)
    parsed = parse_specs(specs)
    return {"product": _strip_prefix(title, "Title:"),
            "specs": parsed or {"attributes": readable_specs(specs)}}


def _specs(task: HeldoutTask, inst: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_specs(inst["sentences"])
    return {"specs": parsed or {"attributes": readable_specs(inst["sentences"])}}


MAPPINGS: dict[str, TaskMapping] = {
    "EN-Lenovo-NER-NER": TaskMapping("ner", _text_types),
    "EN-Lenovo-Condition_Extract-Condition_Extract": TaskMapping("span_detection", _text_types),
    # The paper's prompt for Reddit QA asks for an extraction and offers no "no answer" option
    # (meta-info.json: "Extract spans from context to answer the question."), and every instance has a gold
    # answer in its context, so the model is asked under allow_none=False: it must copy a span.
    "EN-Reddit_QA-Extract-Extract_QA": TaskMapping("qa", _qa, truncate=True, allow_none=False),
    "EN-ABSA-CLS-review_topic_category": TaskMapping("review_topic", _text_labels),
    "ZH-MEPAVE-NER-attribute_value_extraction": TaskMapping("attribute_extraction", _text_attributes),
    "ZH-MEPAVE-Condition_Extract-attribute_value_detection": TaskMapping("span_detection", _text_types),
    "ZH-Multi_CPR-Extract-product_select_2": TaskMapping("select_product", _query_candidates),
    "ZH-Multi_CPR-CLS-query_item_matching": TaskMapping("query_match", _query_doc,
                                                        yes_no_labels=("match", "not match")),
    "ZH-OpenBG_Align-CLS-item_align": TaskMapping("same_product", _two_items,
                                                  yes_no_labels=("same", "not same")),
    "ZH-OpenBG_Align-CLS-title_attribute_matching": TaskMapping("attribute_match", _title_specs,
                                                                yes_no_labels=("match", "not match")),
    "ZH-OpenBG_Align-CLS-item_coarse_classify": TaskMapping("product_category", _product_text_labels),
    "ZH-OpenBG_Align-CLS-item_fine_classify": TaskMapping("product_category", _product_text_labels),
    "ZH-OpenBG_Align-Generate-title_generate": TaskMapping("title_generation", _specs),
}


def mapping_for(task: HeldoutTask) -> TaskMapping:
    """The mapping of a held-out task; ``HeldoutFormatError`` names the tasks we know."""
    try:
        m = MAPPINGS[task.name]
    except KeyError:
        raise HeldoutFormatError(f"no mapping for held-out task {task.name!r}; known: "
                                 f"{sorted(MAPPINGS)} (add one in ecomlm/evaluate/mapping.py)") from None
    if m.yes_no_labels and task.label_set and not set(m.yes_no_labels) <= set(task.label_set):
        raise HeldoutFormatError(f"{task.name}: labels {m.yes_no_labels} not in its label set "
                                 f"{task.label_set}")
    return m


# -- answers in comparable form ---------------------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(text.split())


def _answer(items: list[tuple[Optional[str], str]], text: str) -> Answer:
    return Answer(tuple((c, _norm(v)) for c, v in items), text)


def prediction(m: TaskMapping, task: HeldoutTask, result: Optional[Result]) -> Answer:
    """The model's answer in comparable form (an empty answer when the item failed)."""
    if result is None:
        return Answer((), "")
    return _answer(*m.kind.scored(result, task.label_sep, m.yes_no_labels))


def gold(m: TaskMapping, task: HeldoutTask, inst: dict[str, Any], fields: dict[str, Any]) -> Answer:
    """The gold answer in comparable form, through the catalog's parse path where it applies.

    ``fields`` are the catalog fields built for the instance (already normalised).
    """
    t = catalog.get_task(m.catalog_task)
    terms = [(s.get("type"), s["term"]) for s in inst.get("spans") or []]
    return _answer(*t.kind.scored_gold(t, fields, terms=terms, labels=lambda: task.gold_labels(inst),
                                       sep=task.label_sep,
                                       gold_result=lambda answer: catalog.gold_result(t, answer, fields)))


__all__ = ["Answer", "TaskMapping", "MAPPINGS", "mapping_for", "prediction", "gold", "parse_specs",
           "readable_specs", "METRIC_NAMES"]
