"""Span retyping: re-decide the type of each span a typed-span task decoded.

NER decodes ``type: span`` lines, so the model commits to a type before it has chosen the span it
types. Retyping asks the task's typing task (``Task.retype_with``: entity typing for NER, attribute
naming for attribute extraction) about each decoded span, now that the span is known: every type of
the item's own type set is scored as the answer (``Backend.option_logprobs``, the whole label plus end
of turn) and the most probable replaces the decoded one. Spans and their offsets stay as decoded; a
span that two lines gave with two types, and now has one, is kept once.

It costs one scoring prompt per span, and it is off by default (``Task.retype``): on held-out
Lenovo NER (250 items) the round-5 adapter scored 10.45 micro-F1 with it against 16.25 without, since
its entity-typing answers move most Attribute and Brand spans to Product or Component
(evaluate/finetuned/retype/). It stays as an option for an adapter whose typing task is stronger.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Protocol

import numpy as np

from . import catalog
from .results import Span, SpansResult
from .task import Task


class _Scorer(Protocol):
    backend: Any

    def prompt_for(self, task: str | Task, fields: Mapping[str, Any]) -> str: ...


def retype_spans(model: _Scorer, task: Task, result: SpansResult, fields: Mapping[str, Any]) -> SpansResult:
    """``result`` with each span's type replaced by the type its typing task scores highest.

    ``fields`` are the typed-span task's normalised inputs; ``task.retype_with`` must be set."""
    how = task.retype_with
    if how is None:
        raise ValueError(f"task {task.name!r} declares no retyping task")
    typing = catalog.get_task(how.task)
    shared = {"text": fields[str(task.source_field)], str(typing.options_field): fields[str(task.options_field)]}
    spans: list[Span] = []
    seen: set[tuple[int, int, str]] = set()
    for span in result.spans:
        f = catalog.normalize_fields(typing, {**shared, how.span_field: span.text})
        options = catalog.options_of(typing, f)
        scores = model.backend_for(typing).option_logprobs(model.prompt_for(typing, f), options)
        new = replace(span, type=options[int(np.argmax(scores))])
        key = (new.start, new.end, new.type or "")
        if key not in seen:
            seen.add(key)
            spans.append(new)
    return replace(result, spans=spans)


__all__ = ["retype_spans"]
