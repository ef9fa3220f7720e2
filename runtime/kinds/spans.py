"""Answers copied from the input: typed spans, spans, one answer span.

Spans are copied from the task's source field by construction (``CopyLines``); ``copy_spans=False``
decodes them as before copy decoding existed (free lines, checked only afterwards; ``allow_none``
then has no effect): kept to measure what copying buys. ``allow_none=False`` forbids the "None"
answer (an answer is then required).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

from ..consensus import voted, voted_by_text, voted_for_f1
from ..constraints import NONE_ANSWER, Constraint, CopyLines, FreeLines, PrefixedLines
from ..results import AnswerResult, SpansResult
from ..spans import find_span, locate_all
from .base import OutputKind, Scored, answer_lines, exact_option, register

ANSWER_TAG = "answer"
#: a span-list answer's token budget grows with its source (``_SpanLines.max_tokens``)
SOURCE_CHARS_PER_TOKEN = 3
MAX_BUDGET_FACTOR = 4


def _at_offsets(source: str, span: Mapping[str, Any]) -> bool:
    return source[span["start"]:span["end"]] == span["text"]


class _SpanLines(OutputKind):
    """Lines of spans copied from ``task.source_field`` (``typed``: each after ``type: ``)."""

    result_type = SpansResult
    copies_spans = True
    typed = False
    text_sep = "\n"
    consensus = True
    #: the consensus of n answers keeps a span that at least this share of them holds (``agreed``):
    #: 3 of 8, the best of 2, 3, 4 of 8 on the English validation split of both NER and span
    #: detection (evaluate/finetuned/consensus/), near half the F1 reached, as theory says
    vote_share = 0.375
    #: typed spans: count a span's votes whatever type each answer gives it, then give it the type
    #: most of them do (``consensus.voted_by_text``), instead of voting on (type, text) pairs
    vote_by_text = False

    def votes_needed(self, n: int) -> int:
        """Answers of ``n`` that must hold a span for the consensus to keep it."""
        return max(1, math.ceil(self.vote_share * n - 1e-9))

    def agreed(self, task: Any, texts: Sequence[str], fields: Mapping[str, Any], *,
               allow_none: bool = True) -> str:
        """The spans that enough of the answers hold (``votes_needed``), as one answer; under
        ``task.vote == "expected_f1"``, the spans that maximize its expected F1 instead."""
        if task.vote == "expected_f1":
            return self.voted_answer(task, texts, fields, 0, allow_none=allow_none)
        return self.voted_answer(task, texts, fields, self.votes_needed(len(texts)), allow_none=allow_none)

    def voted_answer(self, task: Any, texts: Sequence[str], fields: Mapping[str, Any], min_votes: int, *,
                     allow_none: bool = True, by_text: Optional[bool] = None) -> str:
        """One answer holding each (type, text) span found in at least ``min_votes`` of ``texts``, in the
        order first seen (``consensus.voted``; ``by_text``, default ``vote_by_text``: each text found in
        that many whatever its type, with its most given type, ``consensus.voted_by_text``); the first
        text (the greedy answer) where none is and an answer is required. ``min_votes`` 0: the spans
        that maximize the answer's expected F1 (``consensus.voted_for_f1``)."""
        found = [[(s.type, s.text) for s in self.parse(task, t, fields, allow_none=allow_none).spans]
                 for t in texts]
        if by_text is None:
            by_text = self.vote_by_text
        if min_votes == 0:
            kept = voted_for_f1(found)
        else:
            kept = voted_by_text(found, min_votes) if by_text and self.typed else voted(found, min_votes)
        if not kept and not allow_none:
            return texts[0]
        return self.format(task, kept if self.typed else [text for _, text in kept])

    def format(self, task: Any, answer: Any) -> str:
        lines = [f"{t}: {s}" for t, s in answer] if self.typed else list(answer)
        return "\n".join(lines) if lines else NONE_ANSWER

    def reads_back(self, task: Any, answer: Any, result: SpansResult) -> bool:
        return len({(s.type, s.text) for s in result.spans}) == len(answer) and not result.dropped

    def max_tokens(self, task: Any, fields: Mapping[str, Any]) -> int:
        # The answer copies spans of the source, so it can grow with it: a long product description
        # holds dozens of entities. About a token per SOURCE_CHARS_PER_TOKEN characters of the source,
        # never below the task's budget nor above MAX_BUDGET_FACTOR times it.
        source = str(fields.get(task.source_field) or "")
        return max(task.max_new_tokens,
                   min(MAX_BUDGET_FACTOR * task.max_new_tokens, len(source) // SOURCE_CHARS_PER_TOKEN))

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> SpansResult:
        options = self.options(task, fields)
        single_type = fields.get("type") or fields.get("attribute")
        items: list[tuple[Optional[str], str]] = []
        bad = 0
        for ln in answer_lines(raw):
            if ln == NONE_ANSWER and (allow_none or self.typed):
                continue
            if self.typed:
                head, sep, value = ln.partition(":")
                type_ = exact_option(head, options) if sep else None
                if type_ is None:
                    bad += 1
                    continue
                items.append((type_, value.strip()))
            else:
                items.append((single_type, ln))
        spans, dropped = locate_all(fields[task.source_field], items)
        return SpansResult(task=task.name, raw=raw, spans=spans, dropped=dropped + bad)

    def constraint(self, task: Any, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
        prefixes = tuple(self.options(task, fields)) if self.typed else ()
        if not copy_spans:  # the earlier decoding
            return PrefixedLines(prefixes) if self.typed else FreeLines()
        return CopyLines(fields[task.source_field], prefixes=prefixes,
                         none=NONE_ANSWER if allow_none else None, max_lines=32)

    def render(self, result: SpansResult) -> str:
        if not result.spans:
            lines = ["(nothing found)"]
        else:
            lines = [f"{(s.type + ': ') if s.type else ''}{s.text}  [{s.start}:{s.end}]"
                     for s in result.spans]
        if result.dropped:
            lines.append(f"({result.dropped} answer line(s) dropped: not found in the input)")
        return "\n".join(lines)

    def answer_text(self, result: SpansResult) -> str:
        lines = [f"{s.type}: {s.text}" if s.type else s.text for s in result.spans]
        return "\n".join(lines) or NONE_ANSWER

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        source = fields[task.source_field]
        options = self.options(task, fields)
        for s in result.get("spans", []):
            if not _at_offsets(source, s):
                return f"span {s} is not at its offsets in the input"
            if self.typed and s.get("type") not in options:
                return f"span {s} has a type not among {options}"
        return None

    def scored(self, result: SpansResult, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        if self.typed:
            pairs: list[tuple[Optional[str], str]] = [(s.type, s.text) for s in result.spans]
            return pairs, sep.join(f"{t}: {v}" for t, v in pairs)
        return [(None, s.text) for s in result.spans], sep.join(s.text for s in result.spans)

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        answer = list(terms) if self.typed else [term for _, term in terms]
        return self.scored(gold_result(answer), sep)

    def highlight(self, task: Any, result: SpansResult, fields: Mapping[str, Any]) -> Any:
        entities = [{"entity": s.type or "entity", "start": s.start, "end": s.end} for s in result.spans]
        return {"text": fields[task.source_field], "entities": entities}

    def table(self, result: SpansResult) -> list[list[Any]]:
        return [[s.type or "", s.text, s.start, s.end] for s in result.spans]

    def balance_key(self, task: Any, gold: Any) -> str:
        return "none" if not gold else "some"


@register
class TypedSpans(_SpanLines):
    """``type: span`` lines: types from the options field, spans copied from the source (NER,
    attribute extraction, aspect-polarity pairs); the answer is a list of (type, text)."""

    name = "typed_spans"
    hint = 'One "type: text" per line, the text copied from the input; "None" if there is none.'
    metrics = ("micro_f1", "macro_f1")
    typed = True


@register
class Spans(_SpanLines):
    """Span lines copied from the source (span detection, aspect terms, one attribute's value); the
    answer is a list of str."""

    name = "spans"
    hint = 'One item per line, copied from the input; "None" if there is none.'
    metrics = ("micro_f1", "rouge_l")


@register
class AnswerSpan(OutputKind):
    """One span of the source, or "None" (extractive QA); the answer is a str or None."""

    name = "answer_span"
    hint = 'Answer with a span copied from the context; "None" if it has no answer.'
    result_type = AnswerResult
    metrics = ("rouge_l",)
    copies_spans = True
    consensus = True
    baseline = "source"

    def format(self, task: Any, answer: Any) -> str:
        return str(answer) if answer else NONE_ANSWER

    def reads_back(self, task: Any, answer: Any, result: AnswerResult) -> bool:
        return bool(result.span and result.span.text) == bool(answer) and not result.dropped

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> AnswerResult:
        text = raw.strip()
        if not text or (text == NONE_ANSWER and allow_none):
            return AnswerResult(task=task.name, raw=raw, span=None)
        span = find_span(fields[task.source_field], text)
        return AnswerResult(task=task.name, raw=raw, span=span, dropped=0 if span else 1)

    def constraint(self, task: Any, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
        if not copy_spans:  # the earlier decoding: free text, checked afterwards
            return None
        return CopyLines(fields[task.source_field], none=NONE_ANSWER if allow_none else None, max_lines=1)

    def render(self, result: AnswerResult) -> str:
        return f"{result.span.text}  [{result.span.start}:{result.span.end}]" if result.span \
            else "(no answer in the context)"

    def answer_text(self, result: AnswerResult) -> str:
        return result.span.text if result.span else NONE_ANSWER

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        s = result.get("span")
        if s and not _at_offsets(fields[task.source_field], s):
            return f"answer span {s} is not at its offsets in the context"
        return None

    def scored(self, result: AnswerResult, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        return [], result.answer or ""

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        term = terms[0][1] if terms else ""
        return [], gold_result(term).answer or term

    def highlight(self, task: Any, result: AnswerResult, fields: Mapping[str, Any]) -> Any:
        entities = [] if result.span is None else [
            {"entity": ANSWER_TAG, "start": result.span.start, "end": result.span.end}]
        return {"text": fields[task.source_field], "entities": entities}

    def balance_key(self, task: Any, gold: Any) -> str:
        return "none" if not gold else "some"
