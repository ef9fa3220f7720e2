"""Keeping one answer among several written for the same call, by their consensus.

A small model's greedy title is one draw of many it finds likely, and often not the most typical:
it copies one more value, or stops one word early. Minimum Bayes risk (MBR) decoding (Kumar & Byrne
2004; Freitag et al. 2022, 2023) writes several candidates and keeps the one that agrees most with
the others, agreement measured by the task's own metric (Rouge-L here): the candidate nearest the
centre of what the model would write. ``consensus_order`` ranks candidates that way.

Units are Rouge's: each CJK character is one, every other run of letters and digits is one word
(lower-cased), so mixed Chinese/Latin titles ("华为Mate60 手机壳") are compared as the evaluation
compares them.

A list of spans (entities, attribute values) is not one text to pick but a set to decide item by
item: ``voted`` keeps the items that enough of the answers hold. Each answer is a draw from the
model, so the share of answers holding an item estimates the model's own probability of it; keeping
the items above a probability threshold is how F1 is best decided item by item (Ye et al. 2012;
Lipton et al. 2014: the best threshold is about half the F1 reached). The threshold is
``_SpanLines.vote_share``.
"""
from __future__ import annotations

import re
from typing import Hashable, Sequence, TypeVar

Item = TypeVar("Item", bound=Hashable)

_CJK = "\u3400-\u9fff\uf900-\ufaff"
#: one CJK character, or a run of other letters and digits
_UNIT = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


def units(text: str) -> list[str]:
    """Rouge units of ``text``: CJK characters one by one, other letter/digit runs as lower-cased words."""
    return _UNIT.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)))."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l_f(a: Sequence[str], b: Sequence[str]) -> float:
    """Rouge-L F1 (0-1) of two unit lists; both empty counts as agreement."""
    if not a and not b:
        return 1.0
    lcs = lcs_length(a, b)
    return 0.0 if not lcs else 2 * lcs / (len(a) + len(b))


def consensus_order(texts: Sequence[str]) -> list[int]:
    """Indices of ``texts``, the one that agrees most with all the others first (mean Rouge-L F1);
    ties keep the given order, so a greedy answer listed first wins a tie."""
    toks = [units(t) for t in texts]
    n = len(toks)
    score = [0.0] * n
    for i in range(n):
        for j in range(i + 1, n):
            f = rouge_l_f(toks[i], toks[j])
            score[i] += f
            score[j] += f
    return sorted(range(n), key=lambda i: -score[i])


def voted(answers: Sequence[Sequence[Item]], min_votes: int) -> list[Item]:
    """The items found in at least ``min_votes`` of ``answers`` (an item counts once per answer), in
    the order first seen (the first answer's items first)."""
    return [item for item, n in _vote_counts(answers).items() if n >= min_votes]


def _vote_counts(answers: Sequence[Sequence[Item]]) -> dict[Item, int]:
    """How many of ``answers`` hold each item (an item counts once per answer), in the order first seen."""
    votes: dict[Item, int] = {}
    for items in answers:
        for item in dict.fromkeys(items):
            votes[item] = votes.get(item, 0) + 1
    return votes


def voted_for_f1(answers: Sequence[Sequence[Item]]) -> list[Item]:
    """The items that maximize the expected F1 of this one answer, in the order first seen.

    Each item's share of the answers holding it is read as its probability p; keeping the k likeliest
    has expected F1 of about ``2 * (sum of their p) / (k + sum of every p)`` (the plug-in rule for F1:
    Jansche 2007; Nan et al. 2012), and the best k is kept, items of equal share together. The
    threshold this sets is about half the F1 the item can reach, so it falls where the answers
    disagree (an unfamiliar text) and rises where they agree, where ``voted`` keeps one share
    everywhere. No answers, or none holding an item: nothing is kept."""
    n = len(answers)
    votes = _vote_counts(answers)
    if not votes:
        return []
    expected_gold = sum(votes.values()) / n
    best, best_f1, kept, mass = n + 1, 0.0, 0, 0.0
    for v in sorted(set(votes.values()), reverse=True):
        at_v = sum(1 for c in votes.values() if c == v)
        kept, mass = kept + at_v, mass + at_v * v / n
        f1 = 2 * mass / (kept + expected_gold)
        if f1 > best_f1 + 1e-12:
            best, best_f1 = v, f1
    return [item for item, c in votes.items() if c >= best]


def voted_by_text(answers: Sequence[Sequence[tuple[Item, Item]]], min_votes: int) -> list[tuple[Item, Item]]:
    """Typed items ``(type, text)``: the texts found in at least ``min_votes`` of ``answers`` whatever
    their type, each with the type most of the answers holding it give it (a tie: the type seen
    first), in the order first seen. Where ``voted`` splits a span's votes between the types the
    model hesitates over, this counts them for the span and lets them pick its type."""
    holders: dict[Item, int] = {}
    types: dict[Item, dict[Item, int]] = {}
    for items in answers:
        seen_text: set = set()
        for kind, text in dict.fromkeys(items):
            if text not in seen_text:
                seen_text.add(text)
                holders[text] = holders.get(text, 0) + 1
            counts = types.setdefault(text, {})
            counts[kind] = counts.get(kind, 0) + 1
    kept = []
    for text, n in holders.items():
        if n >= min_votes:
            counts = types[text]
            best = max(counts.values())
            kept.append((next(k for k, c in counts.items() if c == best), text))
    return kept
