"""Typed results of the e-commerce tasks. Every result keeps the raw model output for inspection."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional


@dataclass(frozen=True)
class Span:
    """A piece of the input text: ``text == source[start:end]`` always holds."""

    text: str
    start: int
    end: int
    type: Optional[str] = None


@dataclass
class Result:
    """Base of all task results. ``written``: with ``run(consensus_of=n)``, the ``n`` answers written
    (the greedy one first, then the samples), of which ``raw`` is the one agreed on; else empty."""

    task: str
    raw: str
    written: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Result":
        """The inverse of ``to_dict`` (spans become ``Span`` objects again)."""
        values = dict(data)
        if values.get("spans"):
            values["spans"] = [Span(**s) for s in values["spans"]]
        if values.get("span"):
            values["span"] = Span(**values["span"])
        return cls(**values)


@dataclass
class SpansResult(Result):
    """Entities, aspect terms or attribute values found in the input, with character offsets.

    ``dropped`` counts answer lines the model produced that were not a span of the input (or had an
    unknown type); they are never returned. A vote of several answers (``written``) keeps only spans
    of the input, so its ``dropped`` is 0.
    """

    spans: list[Span] = field(default_factory=list)
    dropped: int = 0

    def by_type(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self.spans:
            out.setdefault(s.type or "", []).append(s.text)
        return out


@dataclass
class LabelResult(Result):
    """A classification: ``labels`` is a subset of ``candidates`` (exactly one label unless multi-label)."""

    labels: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)

    @property
    def label(self) -> Optional[str]:
        return self.labels[0] if self.labels else None


@dataclass
class MatchResult(Result):
    """A yes/no decision (query-product match, same product, answerability)."""

    match: bool = False


@dataclass
class AnswerResult(Result):
    """An extractive answer: a span of the context, or ``span is None`` when the model found none."""

    span: Optional[Span] = None
    dropped: int = 0

    @property
    def answer(self) -> Optional[str]:
        return self.span.text if self.span else None


@dataclass
class TextResult(Result):
    """Generated text (titles, summaries, ad copy)."""

    text: str = ""
