"""Scores of the held-out evaluation, in 0-100 as the EcomGPT paper reports them.

- **micro-F1** over predicted sets: true positives, false positives and false negatives are summed
  over all examples of a task, then F1 = 2TP / (2TP + FP + FN). An item is a label (classification),
  a ``(type, span)`` pair (NER, attribute extraction) or a span (span detection, product selection).
- **macro-F1**: the unweighted mean over classes of the per-class F1, where a class is a label
  (classification) or an entity / attribute type (NER). Classes are those that occur in the gold
  answers or the predictions of the task. Items without a class (untyped spans) have no macro-F1.
- **Rouge-L F**: F1 of the longest common subsequence of prediction and reference tokens, averaged
  over examples; tokens are lower-cased words for English and characters for Chinese (whitespace
  dropped). Hand-written on purpose: the usual ``rouge-score`` tokenizer throws away CJK characters.

Each function takes plain Python values, so tests can score hand-made predictions with known answers.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Hashable, Iterable, Optional, Sequence

from ecomlm.runtime.consensus import lcs_length  # the one LCS, shared with consensus decoding

Item = Hashable

_WORD = re.compile(r"\w+", re.UNICODE)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def set_counts(pred: Iterable[Item], gold: Iterable[Item]) -> tuple[int, int, int]:
    """(TP, FP, FN) of one example's predicted set against its gold set."""
    p, g = set(pred), set(gold)
    return len(p & g), len(p - g), len(g - p)


def micro_f1(preds: Sequence[Iterable[Item]], golds: Sequence[Iterable[Item]]) -> float:
    """Micro-F1 (0-100) over per-example sets; an example with empty prediction and gold adds nothing."""
    tp = fp = fn = 0
    for p, g in zip(preds, golds, strict=True):
        a, b, c = set_counts(p, g)
        tp, fp, fn = tp + a, fp + b, fn + c
    return 100.0 * _f1(tp, fp, fn)


def macro_f1(preds: Sequence[Iterable[tuple[str, Item]]],
             golds: Sequence[Iterable[tuple[str, Item]]]) -> Optional[float]:
    """Macro-F1 (0-100): mean over classes of the per-class micro-F1.

    Items are ``(class, item)`` pairs: for classification use ``(label, label)``, for NER
    ``(type, span)``. ``None`` when no example has any item.
    """
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p, g in zip(preds, golds, strict=True):
        p, g = set(p), set(g)
        for cls, _ in p & g:
            counts[cls][0] += 1
        for cls, _ in p - g:
            counts[cls][1] += 1
        for cls, _ in g - p:
            counts[cls][2] += 1
    if not counts:
        return None
    return 100.0 * sum(_f1(*c) for c in counts.values()) / len(counts)


def tokens(text: str, lang: str) -> list[str]:
    """Rouge tokens: characters (whitespace dropped) for ``zh``, lower-cased words otherwise."""
    if lang == "zh":
        return [ch for ch in text if not ch.isspace()]
    return _WORD.findall(text.lower())


def rouge_l(pred: str, ref: str, lang: str) -> float:
    """Rouge-L F1 (0-1) of one prediction against one reference. Both empty counts as agreement (1)."""
    p, r = tokens(pred, lang), tokens(ref, lang)
    if not p and not r:
        return 1.0
    lcs = lcs_length(p, r)
    if not lcs:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def mean_rouge_l(preds: Sequence[str], refs: Sequence[str], lang: str) -> float:
    """Mean Rouge-L F (0-100) over examples."""
    scores = [rouge_l(p, r, lang) for p, r in zip(preds, refs, strict=True)]
    return 100.0 * sum(scores) / len(scores) if scores else 0.0


__all__ = ["set_counts", "micro_f1", "macro_f1", "tokens", "lcs_length", "rouge_l", "mean_rouge_l"]
