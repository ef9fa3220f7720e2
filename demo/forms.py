"""Plain conversions between what people type/see in the demo and the runtime's fields/results.

No Gradio here: the demo, the batch tab and the tests all call these functions. How each input is
typed is its field spec's (``runtime/fields.py``: list fields comma-separated, reviews and candidates
one per line, specs one ``attribute: value`` per line or a JSON object); how each result is shown is
its task's output kind's (``runtime/kinds/``: a highlighted text, with entities/answers in their
source or labels among their candidates; a table of spans; the one-line answer).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.catalog import Task, parse_specs
from ecomlm.runtime.fields import FIELDS
from ecomlm.runtime.kinds import ANSWER_TAG
from ecomlm.runtime.results import Result


def field_hint(name: str) -> str:
    """Placeholder text telling people how to type ``name``."""
    return FIELDS[name].form_hint


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
        fields[name] = FIELDS[name].from_form(raw)
    return fields


def form_from_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """The inverse of ``fields_from_form``: form strings for an example's fields."""
    return {name: FIELDS[name].to_form(value) for name, value in fields.items()}


def highlighted(result: Result, fields: Mapping[str, Any]) -> Optional[Any]:
    """A ``gr.HighlightedText`` value: spans in their source text, or the answer among the options."""
    task = catalog.get_task(result.task)
    return task.kind.highlight(task, result, fields)


def table(result: Result) -> list[list[Any]]:
    """Rows ``[type or attribute, text, start, end]`` for span results (empty for other results)."""
    return catalog.get_task(result.task).kind.table(result)


def table_headers(task: Task) -> list[str]:
    first = "attribute" if task.family == "attributes" else "type"
    return [first, "text", "start", "end"]


def answer_text(result: Result) -> str:
    """The one-line answer people read first (the same rendering as ``ecomlm run``)."""
    return catalog.render_result(result)


__all__ = ["ANSWER_TAG", "answer_text", "field_hint", "fields_from_form", "form_from_fields", "highlighted",
           "parse_specs", "table", "table_headers"]
