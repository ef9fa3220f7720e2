"""Plain conversions between what people type/see in the demo and the runtime's fields/results.

No Gradio here: the demo, the batch tab and the tests all call these functions.
- list fields (labels, types, ...) are typed comma-separated; reviews and candidates one per line;
- specs (attribute -> value) one ``attribute: value`` per line (or a JSON object);
- results become a highlighted text (entities/answers in their source, labels among their
  candidates), a table (one row per span: type/attribute, text, offsets) and a one-line answer.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.catalog import Task, parse_specs
from ecomlm.runtime.cli import format_result
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, Result, SpansResult

ANSWER_TAG = "answer"
# List fields whose items may contain commas (reviews, product offers): typed one per line.
LINE_LIST_FIELDS = {"reviews", "candidates"}


def field_hint(name: str) -> str:
    """Placeholder text telling people how to type ``name``."""
    if name in LINE_LIST_FIELDS:
        return f"one {'review' if name == 'reviews' else 'candidate'} per line"
    if name in catalog.DICT_FIELDS:
        return "one 'attribute: value' per line"
    if name in catalog.LIST_FIELDS:
        return "comma-separated"
    return ""


def fields_from_form(task: Task, values: Mapping[str, Optional[str]]) -> dict[str, Any]:
    """The task's fields from form strings (only the task's own fields; blank optional ones left out).

    Blank required fields are kept as ``""`` so that the runtime's validation names them.
    """
    fields: dict[str, Any] = {}
    for name in task.fields:
        raw = (values.get(name) or "").strip()
        if not raw:
            if name in task.required:
                fields[name] = ""
            continue
        if name in catalog.DICT_FIELDS:
            fields[name] = parse_specs(raw)
        elif name in LINE_LIST_FIELDS:
            fields[name] = [r for r in (ln.strip() for ln in raw.splitlines()) if r]
        elif name in catalog.LIST_FIELDS:
            fields[name] = [v.strip() for v in raw.split(",")]
        else:
            fields[name] = raw
    return fields


def form_from_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """The inverse of ``fields_from_form``: form strings for an example's fields."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name in catalog.DICT_FIELDS:
            out[name] = "\n".join(f"{k}: {v}" for k, v in value.items())
        elif name in LINE_LIST_FIELDS:
            out[name] = "\n".join(value)
        elif name in catalog.LIST_FIELDS:
            out[name] = ", ".join(value)
        else:
            out[name] = str(value)
    return out


def highlighted(result: Result, fields: Mapping[str, Any]) -> Optional[Any]:
    """A ``gr.HighlightedText`` value: spans in their source text, or the answer among the options."""
    task = catalog.get_task(result.task)
    if isinstance(result, SpansResult):
        entities = [{"entity": s.type or "entity", "start": s.start, "end": s.end} for s in result.spans]
        return {"text": fields[task.source_field], "entities": entities}
    if isinstance(result, AnswerResult):
        entities = [] if result.span is None else [
            {"entity": ANSWER_TAG, "start": result.span.start, "end": result.span.end}]
        return {"text": fields[task.source_field], "entities": entities}
    if isinstance(result, LabelResult):
        return _chips(result.candidates, set(result.labels))
    if isinstance(result, MatchResult):
        return _chips([catalog.YES, catalog.NO], {catalog.YES if result.match else catalog.NO})
    return None


def _chips(options: list[str], chosen: set[str]) -> list[tuple[str, Optional[str]]]:
    out: list[tuple[str, Optional[str]]] = []
    for i, option in enumerate(options):
        if i:
            out.append(("  ", None))
        out.append((option, ANSWER_TAG if option in chosen else None))
    return out


def table(result: Result) -> list[list[Any]]:
    """Rows ``[type or attribute, text, start, end]`` for span results (empty for other results)."""
    if isinstance(result, SpansResult):
        return [[s.type or "", s.text, s.start, s.end] for s in result.spans]
    return []


def table_headers(task: Task) -> list[str]:
    first = "attribute" if task.family == "attributes" else "type"
    return [first, "text", "start", "end"]


def answer_text(result: Result) -> str:
    """The one-line answer people read first (the same rendering as ``ecomlm run``)."""
    return format_result(result)


__all__ = ["answer_text", "field_hint", "fields_from_form", "form_from_fields", "highlighted",
           "parse_specs", "table", "table_headers"]
