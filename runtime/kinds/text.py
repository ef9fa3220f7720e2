"""Free text: titles, ad copy, summaries, free answers (scored by Rouge-L)."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from ..constraints import Constraint, FreeLine
from ..results import TextResult
from .base import OutputKind, Scored, register


@register
class Text(OutputKind):
    """Free text; ``task.single_line``: exactly one line (``FreeLine``), so a small model cannot
    ramble on (titles). The answer is a str."""

    name = "text"
    hint = ""
    result_type = TextResult
    metrics = ("rouge_l",)
    free_text = True
    consensus = True
    baseline = "inputs"
    # 3 as in common summarisation set-ups (e.g. BART's no_repeat_ngram_size); chosen before measuring
    no_repeat_ngram = 3

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> TextResult:
        return TextResult(task=task.name, raw=raw, text=raw.strip())

    def reads_back(self, task: Any, answer: Any, result: TextResult) -> bool:
        return result.text == str(answer).strip() != ""

    def constraint(self, task: Any, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
        return FreeLine() if task.single_line else None

    def render(self, result: TextResult) -> str:
        return result.text

    def answer_text(self, result: TextResult) -> str:
        return result.text

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        text = result.get("text")
        if not isinstance(text, str):
            return "no text in the result"
        if task.single_line and "\n" in text:
            return f"a one-line answer has several lines: {text!r}"
        return None

    def scored(self, result: TextResult, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        return [], result.text

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        return [], terms[0][1] if terms else ""
