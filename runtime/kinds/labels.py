"""Answers from a closed set: one label, several labels, one copied candidate, yes or no.

Decoding is constrained to the set (``Choice``, ``ChoiceLines``), so every answer is a member; the
parser still maps text onto the set (exact, then ignoring case, then the longest option contained)
so that unconstrained output is read the same way.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from ..constraints import NONE_ANSWER, Choice, ChoiceLines, Constraint
from ..results import LabelResult, MatchResult
from .base import NO, YES, OutputKind, Scored, answer_lines, chips, match_option, register


def _labels_check(result: Mapping[str, Any], one: bool) -> Optional[str]:
    labels, candidates = result.get("labels"), result.get("candidates")
    if not isinstance(labels, list) or not set(labels) <= set(candidates or []):
        return f"labels {labels} are not among the candidates {candidates}"
    if one and len(labels) != 1:
        return f"expected exactly one label, got {labels}"
    return None


class _OneOf(OutputKind):
    """Exactly one option (decoded under ``Choice``)."""

    baseline = "majority"

    def constraint(self, task: Any, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
        return Choice(tuple(self.options(task, fields)))

    def max_tokens(self, task: Any, fields: Mapping[str, Any]) -> int:
        # Under a grammar the model may spell an option in more tokens than its usual tokenization;
        # one token per UTF-8 byte is an upper bound, and decoding stops as soon as the grammar ends.
        return max(len(o.encode("utf-8")) for o in self.options(task, fields)) + 2

    def balance_key(self, task: Any, gold: Any) -> str:
        return str(gold)


class _LabelKind(_OneOf):
    """A ``LabelResult``: ``labels`` chosen among ``candidates``."""

    result_type = LabelResult

    def reads_back(self, task: Any, answer: Any, result: LabelResult) -> bool:
        return len(set(result.labels)) == 1

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> LabelResult:
        options = self.options(task, fields)
        label = match_option(raw, options)
        return LabelResult(task=task.name, raw=raw, labels=[label] if label else [], candidates=options)

    def render(self, result: LabelResult) -> str:
        return ", ".join(result.labels) if result.labels else "(no label)"

    def answer_text(self, result: LabelResult) -> str:
        return "\n".join(result.labels) or NONE_ANSWER

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        return _labels_check(result, one=True)

    def highlight(self, task: Any, result: LabelResult, fields: Mapping[str, Any]) -> Any:
        return chips(result.candidates, set(result.labels))


@register
class Label(_LabelKind):
    """Exactly one option (classification, entity typing); the answer is a str."""

    name = "label"
    hint = "Answer with one of the candidates."
    metrics = ("micro_f1", "macro_f1")
    classification = True
    calibrates = True

    def scored(self, result: LabelResult, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        return [(lab, lab) for lab in result.labels], sep.join(result.labels)

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        gold = labels()
        return [(lab, lab) for lab in gold], sep.join(gold)


@register
class Labels(Label):
    """Every option that applies, one a line, or "None" (multi-label); the answer is a list of str."""

    name = "labels"
    hint = 'Every candidate that applies, one per line; "None" if none applies.'
    calibrates = False

    def format(self, task: Any, answer: Any) -> str:
        return "\n".join(answer) if answer else NONE_ANSWER

    def reads_back(self, task: Any, answer: Any, result: LabelResult) -> bool:
        return len(set(result.labels)) == len(answer)

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> LabelResult:
        options = self.options(task, fields)
        labels: list[str] = []
        for ln in answer_lines(raw):
            lab = match_option(ln, options)
            if lab and lab not in labels:
                labels.append(lab)
        return LabelResult(task=task.name, raw=raw, labels=labels, candidates=options)

    def constraint(self, task: Any, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
        return ChoiceLines(tuple(self.options(task, fields)))

    def max_tokens(self, task: Any, fields: Mapping[str, Any]) -> int:
        return sum(len(o.encode("utf-8")) + 1 for o in self.options(task, fields)) + 2

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        return _labels_check(result, one=False)

    def balance_key(self, task: Any, gold: Any) -> str:
        return "none" if not gold else "some"


@register
class CopiedChoice(_LabelKind):
    """Exactly one of the candidates, copied (product selection, A or B); the answer is a str."""

    name = "choice"
    hint = "Answer with one of the candidates, copied exactly."
    metrics = ("micro_f1", "rouge_l")

    def scored(self, result: LabelResult, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        return [(None, lab) for lab in result.labels], sep.join(result.labels)

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        term = terms[0][1] if terms else ""
        result = gold_result(term)
        # A gold document the candidate split did not recover still counts, as itself.
        return self.scored(result, sep) if result.labels else ([(None, term)], term)

    def balance_key(self, task: Any, gold: Any) -> str:
        return str(gold) if task.fixed_options else "any"


@register
class YesNo(_OneOf):
    """"Yes" or "No" (matching, answerability); the answer is a bool."""

    name = "yes_no"
    hint = 'Answer "Yes" or "No".'
    result_type = MatchResult
    metrics = ("micro_f1", "macro_f1")
    classification = True
    calibrates = True

    def options(self, task: Any, fields: Mapping[str, Any]) -> list[str]:
        return list(task.fixed_options) if task.fixed_options else [YES, NO]

    def format(self, task: Any, answer: Any) -> str:
        return YES if answer else NO

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> MatchResult:
        return MatchResult(task=task.name, raw=raw, match=match_option(raw, self.options(task, fields)) == YES)

    def render(self, result: MatchResult) -> str:
        return "yes" if result.match else "no"

    def answer_text(self, result: MatchResult) -> str:
        return YES if result.match else NO

    def reads_back(self, task: Any, answer: Any, result: MatchResult) -> bool:
        return True  # every answer reads as yes or no

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        if not isinstance(result.get("match"), bool):
            return f"match is not a boolean: {result.get('match')!r}"
        return None

    def scored(self, result: MatchResult, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        if yes_no_labels is None:
            raise ValueError("a yes/no answer is scored against the held-out labels for (yes, no)")
        label = yes_no_labels[0] if result.match else yes_no_labels[1]
        return [(label, label)], label

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        gold = labels()
        return [(lab, lab) for lab in gold], sep.join(gold)

    def highlight(self, task: Any, result: MatchResult, fields: Mapping[str, Any]) -> Any:
        return chips([YES, NO], {YES if result.match else NO})
