"""``OutputKind``: what a task's answer is, and everything that follows from it.

A kind owns, for every task of its kind:
- ``hint``: the answer-format line of the prompt;
- ``format``: a gold answer rendered as the training target, which ``parse`` reads back;
- ``parse``: raw model output -> the typed, validated result (``result_type``); with
  ``allow_none=False`` (an answer was required) a "None" the model copied from the input is a span;
- ``constraint``: the decoding constraint (``constraints.py``: its GBNF grammar and the byte
  automaton of ``backends/automaton.py`` come from it) and ``max_tokens``;
- ``render`` (people: the CLI, the demo) and ``answer_text`` (the answer format: OpenAI-compatible
  completions);
- ``check``: whether a result, as a client sees it in JSON, keeps the kind's promise (load test,
  tests);
- ``metrics`` (evaluation; the first is the task's metric), ``scored`` and ``scored_gold``: a
  result or a held-out gold answer as ``(items, text)`` that the metrics compare;
- ``reads_back``: whether a gold answer parsed back whole (a hand-labelled set checks its golds),
  ``text_sep`` (the items of an answer as one text) and ``baseline`` (the trivial baseline
  ``eval-realistic`` scores beside the models);
- the demo's ``highlight`` and ``table``, and the corpus builder's ``balance_key``.

Kinds register themselves by name in ``KINDS`` (``register``); ``Task.output`` names one.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

from ..consensus import consensus_order
from ..constraints import Constraint
from ..results import Result

Items = list[tuple[Optional[str], str]]
Scored = tuple[Items, str]

YES, NO = "Yes", "No"


class OutputKind:
    """Base of the output kinds; see the module docstring. ``task`` arguments are ``catalog.Task``."""

    name: str = ""
    hint: str = ""
    result_type: type[Result] = Result
    #: metrics evaluation computes for the kind, the task's own metric first
    metrics: tuple[str, ...] = ("micro_f1",)
    #: the answer is copied from the input: ``allow_none=False`` can require one
    copies_spans: bool = False
    #: the gold answer is a set of labels (held-out gold labels; a majority baseline applies)
    classification: bool = False
    #: a free-text answer: two items are duplicates only if their gold answers are the same too
    free_text: bool = False
    #: ``EcomModel.run(consensus_of=n)`` applies: n answers written (greedy, then sampled), and one
    #: answer kept by their agreement (``agreed``)
    consensus: bool = False
    #: contextual label calibration applies (on tasks with a text input)
    calibrates: bool = False
    #: decoding never repeats an answer n-gram of this many tokens (0: no such rule); free text only,
    #: where a small model's greedy answer otherwise loops (``automaton.repeat_bans``)
    no_repeat_ngram: int = 0
    #: what joins the items of one answer into one text (``scored``'s ``sep`` where the task has none)
    text_sep: str = ", "
    #: the trivial baseline: ``majority`` (the most frequent gold answer), ``source`` (the whole
    #: source text), ``empty`` (no answer) or ``inputs`` (the attribute values joined, else empty)
    baseline: str = "empty"

    def agreed(self, task: Any, texts: Sequence[str], fields: Mapping[str, Any], *,
               allow_none: bool = True) -> str:
        """The raw answer kept among ``texts``, the answers written for one call (greedy first): here
        the one that agrees most with the others by Rouge-L (minimum Bayes risk, ``consensus.py``)."""
        return texts[consensus_order(texts)[0]]

    def options(self, task: Any, fields: Mapping[str, Any]) -> list[str]:
        """The closed answer set (labels, types, attributes, candidates or fixed options)."""
        if task.fixed_options:
            return list(task.fixed_options)
        if task.options_field:
            return list(fields[task.options_field])
        return []

    def format(self, task: Any, answer: Any) -> str:
        return str(answer)

    def parse(self, task: Any, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> Result:
        raise NotImplementedError

    def constraint(self, task: Any, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
        return None

    def max_tokens(self, task: Any, fields: Mapping[str, Any]) -> int:
        return task.max_new_tokens

    def render(self, result: Any) -> str:
        return result.raw

    def answer_text(self, result: Any) -> str:
        return result.raw

    def check(self, task: Any, fields: Mapping[str, Any], result: Mapping[str, Any]) -> Optional[str]:
        """``None`` if ``result`` (a result's ``to_dict()``, as sent to clients) keeps the kind's
        promise for the (normalised) inputs ``fields``, else what is wrong."""
        return None

    def scored(self, result: Any, sep: str, yes_no_labels: Optional[tuple[str, str]] = None) -> Scored:
        raise NotImplementedError

    def scored_gold(self, task: Any, fields: Mapping[str, Any], *, terms: Sequence[tuple[str, str]],
                    labels: Callable[[], list[str]], sep: str, gold_result: Callable[[Any], Any]) -> Scored:
        """A held-out gold answer as ``scored`` gives: ``terms`` are its (type, term) spans,
        ``labels()`` its gold labels, ``gold_result(answer)`` parses an answer of the kind's own
        form through the same path as model output."""
        raise NotImplementedError

    def reads_back(self, task: Any, answer: Any, result: Any) -> bool:
        """Whether ``result``, the gold ``answer`` parsed through ``format`` and ``parse``, holds all
        of it: nothing dropped, merged or mapped away."""
        raise NotImplementedError

    def highlight(self, task: Any, result: Any, fields: Mapping[str, Any]) -> Optional[Any]:
        """A ``gr.HighlightedText`` value (plain data), or ``None``."""
        return None

    def table(self, result: Any) -> list[list[Any]]:
        """Rows ``[type or attribute, text, start, end]`` (span kinds only)."""
        return []

    def balance_key(self, task: Any, gold: Any) -> str:
        """The corpus builder interleaves a task's instances round-robin over these keys."""
        return "any"


KINDS: dict[str, OutputKind] = {}

K = TypeVar("K", bound=type)


def register(cls: K) -> K:
    """Class decorator: add one instance of an ``OutputKind`` to ``KINDS`` under its ``name``."""
    kind = cls()
    if not kind.name or kind.name in KINDS:
        raise ValueError(f"output kind {kind.name!r}: empty or registered twice")
    KINDS[kind.name] = kind
    return cls


# -- helpers the kinds share -------------------------------------------------------------------------
def answer_lines(raw: str) -> list[str]:
    """Non-blank lines of an answer, list markers ("- ", "* ") and spaces stripped."""
    return [ln.strip().lstrip("-*").strip() for ln in raw.strip().splitlines() if ln.strip()]


def exact_option(text: str, options: Sequence[str]) -> Optional[str]:
    """The option equal to ``text`` (ignoring surrounding space and case), or ``None``."""
    text = text.strip()
    if text in options:
        return text
    return next((o for o in options if o.lower() == text.lower()), None)


def match_option(text: str, options: Sequence[str]) -> Optional[str]:
    """Map model text onto an option: exact, then case-insensitive, then the longest option it contains."""
    text = text.strip().strip(".").strip()
    if text in options:
        return text
    low = {o.lower(): o for o in options}
    if text.lower() in low:
        return low[text.lower()]
    contained = [o for o in options if o.lower() in text.lower()]
    return max(contained, key=len) if contained else None


def chips(options: Sequence[str], chosen: set[str], tag: str = "answer") -> list[tuple[str, Optional[str]]]:
    """Options side by side, the chosen ones tagged (the demo's highlighted answer)."""
    out: list[tuple[str, Optional[str]]] = []
    for i, option in enumerate(options):
        if i:
            out.append(("  ", None))
        out.append((option, tag if option in chosen else None))
    return out
