"""Default inputs of tasks whose options are nearly always the same (sentiment's label set).

One rule for every entry point (the ``ecomlm run`` command and its batch mode, the HTTP task,
batch and OpenAI routes): an input the caller leaves out is taken from ``TASK_DEFAULTS``; one the
caller gives always wins. The Python API's ``EcomModel.run`` stays explicit (it takes what it is
given); its convenience methods carry the same defaults as keyword defaults.
"""
from __future__ import annotations

from typing import Any, Mapping

SENTIMENT_LABELS = ("positive", "negative", "neutral")

#: task name -> input name -> value used when the caller gives none
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "sentiment": {"labels": list(SENTIMENT_LABELS)},
    "aspect_sentiment": {"labels": list(SENTIMENT_LABELS)},
}


def defaults_of(task: str) -> dict[str, Any]:
    """The default inputs of ``task`` (a fresh copy; empty when it has none)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in TASK_DEFAULTS.get(task, {}).items()}


def with_defaults(task: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with the task's defaults filled in where an input is missing or ``None``."""
    out = dict(fields)
    for name, value in defaults_of(task).items():
        if out.get(name) is None:
            out[name] = value
    return out


__all__ = ["SENTIMENT_LABELS", "TASK_DEFAULTS", "defaults_of", "with_defaults"]
