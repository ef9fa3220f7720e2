"""Candidate answers checked by a Yes/No task of the model: a second opinion on the spans a QA call
wrote, scored by another task than the one that wrote them.

- ``answerability`` (zero-shot): does a context answer the question? The candidate alone is given as
  the context, so P(Yes) says whether that span, read on its own, answers the question.
- (``answer_check``, a task trained for it on the question, the whole context and the proposed span,
  was measured below the model's own answers and taken out of the catalog again: commit 5b10639,
  ``evaluate/finetuned/question-pmi/``.)

``yes_probabilities`` scores each candidate (P(Yes) over {Yes, No}); ``verified_choice`` keeps the one
of the highest P(Yes), ties the first (the model's own order).
"""
from __future__ import annotations

from typing import Any, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.calibration import option_probs

#: the Yes/No tasks that can check a candidate answer
VERIFY_TASKS = ("answerability",)


def check_fields(task: str, question: str, context: str, answer: str) -> dict[str, str]:
    """The inputs of ``task`` that ask whether ``answer`` answers ``question`` about ``context``."""
    if task == "answerability":
        return {"question": question, "context": answer}
    raise ValueError(f"{task!r} cannot check an answer; one of {VERIFY_TASKS}")


def yes_probabilities(model: Any, task_name: str, question: str, context: str,
                      answers: Sequence[str]) -> list[float]:
    """P(Yes) over {Yes, No} of ``task_name`` for each answer."""
    task = catalog.get_task(task_name)
    out = []
    for answer in answers:
        fields = catalog.normalize_fields(task, check_fields(task_name, question, context, answer))
        backend = model.backend_for(task, fields)
        yes, _ = option_probs(backend.option_logprobs(model.prompt_for(task, fields), ["Yes", "No"]))
        out.append(float(yes))
    return out


def verified_choice(yes: Sequence[float]) -> int:
    """The index of the candidate of the highest P(Yes) (ties: the first)."""
    if not yes:
        raise ValueError("no candidate answer to choose from")
    return max(range(len(yes)), key=lambda i: (yes[i], -i))


__all__ = ["VERIFY_TASKS", "check_fields", "verified_choice", "yes_probabilities"]
