"""Backend-neutral decoding constraints, and their translation to llama.cpp GBNF grammars.

A task's output kind decides which constraint applies (``OutputKind.constraint``, ``kinds/``):

- ``Choice``: the whole answer is exactly one of the given strings (a label, "Yes"/"No", a candidate).
- ``ChoiceLines``: one or more distinct-by-validation lines, each one of the given strings, or the
  ``none`` word alone (multi-label classification, "which of these types occur").
- ``PrefixedLines``: lines ``<prefix>: <free text>`` where the prefix is one of the given strings,
  or the ``none`` word alone (NER over a type list, attribute extraction over attribute names).
- ``FreeLines``: lines of free text, or the ``none`` word (span detection, aspect term extraction).
- ``FreeLine``: exactly one line of free text (titles), so a small model cannot ramble on.
- ``CopyLines``: lines whose text is copied from a source text (optionally after a ``prefix: ``),
  or the ``none`` word alone; with ``max_lines=1`` one answer span. Entity, span, attribute-value
  and answer-span tasks decode under it, so a near-miss span cannot be written at all.

A grammar cannot say "a substring of this input" in reasonable size, so ``CopyLines`` is enforced
by the byte-level automaton of ``backends/automaton.py`` on every backend (llama.cpp runs it as a
logits processor); ``to_gbnf`` gives only its line structure. The validators in ``spans.py`` still
check every span afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

NONE_ANSWER = "None"


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceLines:
    options: tuple[str, ...]
    none: str = NONE_ANSWER


@dataclass(frozen=True)
class PrefixedLines:
    prefixes: tuple[str, ...]
    none: str = NONE_ANSWER
    sep: str = ": "


@dataclass(frozen=True)
class FreeLines:
    none: str = NONE_ANSWER


@dataclass(frozen=True)
class FreeLine:
    pass


@dataclass(frozen=True)
class CopyLines:
    """Lines copied from ``source``: ``<prefix><sep><copied text>`` when ``prefixes`` is given, the
    copied text alone otherwise; or ``none`` alone (``none=None``: an answer is required)."""

    source: str
    prefixes: tuple[str, ...] = ()
    none: Optional[str] = NONE_ANSWER
    sep: str = ": "
    max_lines: int = 32


Constraint = Union[Choice, ChoiceLines, PrefixedLines, FreeLines, FreeLine, CopyLines]


def gbnf_literal(text: str) -> str:
    """Quote ``text`` as a GBNF string literal."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _alternatives(options: Sequence[str]) -> str:
    # Longest first is not needed for GBNF (it is not PEG), but a stable order keeps grammars cacheable.
    return " | ".join(gbnf_literal(o) for o in options)


# A line of free text: at least one character that is neither a newline nor a leading space.
_FREE_TEXT = '[^\\n ] [^\\n]*'


def to_gbnf(constraint: Constraint, max_lines: int = 32) -> str:
    """Translate a constraint to a llama.cpp GBNF grammar whose ``root`` accepts exactly its answers."""
    if isinstance(constraint, Choice):
        return f"root ::= {_alternatives(constraint.options)}\n"
    if isinstance(constraint, ChoiceLines):
        return (
            f"root ::= {gbnf_literal(constraint.none)} | item (\"\\n\" item){{0,{max_lines - 1}}}\n"
            f"item ::= {_alternatives(constraint.options)}\n"
        )
    if isinstance(constraint, PrefixedLines):
        return (
            f"root ::= {gbnf_literal(constraint.none)} | line (\"\\n\" line){{0,{max_lines - 1}}}\n"
            f"line ::= prefix {gbnf_literal(constraint.sep)} value\n"
            f"prefix ::= {_alternatives(constraint.prefixes)}\n"
            f"value ::= {_FREE_TEXT}\n"
        )
    if isinstance(constraint, FreeLines):
        return (
            f"root ::= {gbnf_literal(constraint.none)} | line (\"\\n\" line){{0,{max_lines - 1}}}\n"
            f"line ::= {_FREE_TEXT}\n"
        )
    if isinstance(constraint, FreeLine):
        return f"root ::= {_FREE_TEXT}\n"
    if isinstance(constraint, CopyLines):  # the line structure only (see the module docstring)
        line = (f"prefix {gbnf_literal(constraint.sep)} value" if constraint.prefixes else "value")
        lines = f"line (\"\\n\" line){{0,{constraint.max_lines - 1}}}" if constraint.max_lines > 1 else "line"
        root = f"{gbnf_literal(constraint.none)} | {lines}" if constraint.none is not None else lines
        rules = [f"root ::= {root}", f"line ::= {line}", f"value ::= {_FREE_TEXT}"]
        if constraint.prefixes:
            rules.append(f"prefix ::= {_alternatives(constraint.prefixes)}")
        return "\n".join(rules) + "\n"
    raise TypeError(f"unknown constraint {constraint!r}")
