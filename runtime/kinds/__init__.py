"""Output kinds: one object per kind of answer, in a registry (``KINDS``, by name).

``catalog.Task.output`` names a kind; ``Task.kind`` is the object, which owns the answer format,
the parser, the decoding constraint, the result class, the metrics and the renderings (see
``base.OutputKind``). Adding a kind is one module here: a subclass of ``OutputKind`` decorated with
``@register`` (every module of this package is imported, so its kinds register themselves).
"""
from __future__ import annotations

import importlib
import pkgutil

from . import labels, spans, text
from .base import KINDS, NO, YES, OutputKind, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

TYPED_SPANS = spans.TypedSpans.name
SPANS = spans.Spans.name
ANSWER_SPAN = spans.AnswerSpan.name
LABEL = labels.Label.name
LABELS = labels.Labels.name
CHOICE = labels.CopiedChoice.name
YES_NO = labels.YesNo.name
TEXT = text.Text.name
ANSWER_TAG = spans.ANSWER_TAG


def kind_of(name: str) -> OutputKind:
    return KINDS[name]


__all__ = ["ANSWER_SPAN", "ANSWER_TAG", "CHOICE", "KINDS", "LABEL", "LABELS", "NO", "OutputKind",
           "SPANS", "TEXT", "TYPED_SPANS", "YES", "YES_NO", "kind_of", "register"]
