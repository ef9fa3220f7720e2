"""Answers re-ranked by how much the question raises them (pointwise mutual information).

A small reader can settle on one phrase of a context whatever it is asked: on a Reddit thread it
gives one answer to four different questions. Domain-conditional PMI (Holtzman et al. 2021,
"Surface Form Competition") scores a candidate answer ``a`` by

    log P(a | question, context) - alpha * log P(a | no question, context)

so that an answer the context makes likely whatever the question (``CONTENT_FREE_QUESTION`` in the
question's place) loses to one the question itself calls for. ``alpha`` = 1 is the paper's; 0 keeps
the model's own ranking. The candidates are answers the model wrote (a beam's and samples), so the
re-rank only chooses among spans the model already finds plausible.
"""
from __future__ import annotations

from typing import Sequence

#: What stands in for the question when the answer's question-free probability is measured.
CONTENT_FREE_QUESTION = "N/A"


def pmi_scores(with_question: Sequence[float], without_question: Sequence[float],
               alpha: float = 1.0) -> list[float]:
    """Each candidate's ``log P(a | q, c) - alpha * log P(a | c)`` from its two log-probabilities."""
    if len(with_question) != len(without_question):
        raise ValueError(f"{len(with_question)} scores with the question but {len(without_question)} without")
    return [w - alpha * wo for w, wo in zip(with_question, without_question)]


def pmi_choice(with_question: Sequence[float], without_question: Sequence[float], alpha: float = 1.0) -> int:
    """The index of the candidate of the highest PMI score (ties: the first, i.e. the model's own
    order)."""
    scores = pmi_scores(with_question, without_question, alpha)
    if not scores:
        raise ValueError("no candidate answer to choose from")
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


__all__ = ["CONTENT_FREE_QUESTION", "pmi_choice", "pmi_scores"]
