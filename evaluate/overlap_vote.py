"""A vote over several span-list answers that counts overlapping spans as one (measured, not shipped).

The runtime's vote (``runtime.consensus.voted``) keeps a (type, text) span when enough answers wrote
exactly it. Answers that find the same entity with other boundaries ("ThinkPad", "ThinkPad X1
Carbon", "X1 Carbon Gen 11") split its votes, and none may reach the threshold. This rule is
non-maximum suppression as object detectors use it: candidates are taken most-written first; one
that overlaps a span already kept is dropped; one that is kept needs ``min_votes`` answers holding
a span overlapping it (of its type, or of any type with ``same_type=False``), and keeps the text
most answers wrote. Scored by ``consensus_check`` beside the exact vote
(evaluate/finetuned/consensus/README.md, "Votes by overlap").
"""
from __future__ import annotations

from typing import Optional, Sequence

#: one span of an answer: (type, start, end, text), offsets in the source
Located = tuple[Optional[str], int, int, str]


def _overlap(a: Located, b: Located) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def voted_by_overlap(answers: Sequence[Sequence[Located]], min_votes: int, *,
                     same_type: bool = True) -> list[tuple[Optional[str], str]]:
    """The (type, text) spans kept from ``answers`` (each answer's located spans), in source order."""
    written: dict[Located, int] = {}
    for spans in answers:
        for span in dict.fromkeys(spans):
            written[span] = written.get(span, 0) + 1
    kept: list[Located] = []
    for cand in sorted(written, key=lambda s: -written[s]):  # stable: ties keep first-written order
        if any(_overlap(cand, k) for k in kept):
            continue
        support = sum(1 for spans in answers
                      if any(_overlap(cand, s) and (not same_type or s[0] == cand[0]) for s in spans))
        if support >= min_votes:
            kept.append(cand)
    return [(t, text) for t, _, _, text in sorted(kept, key=lambda s: (s[1], s[2]))]


__all__ = ["Located", "voted_by_overlap"]
