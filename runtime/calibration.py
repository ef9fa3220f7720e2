"""Label calibration for closed-label tasks: contextual calibration (Zhao et al. 2021).

A small model has a prior over a label set that does not depend on the input (the fine-tuned model
answers one favourite topic for most review sentences). Contextual calibration measures that prior:
the model scores every label on the real prompt and on the same prompt with *content-free* inputs
("N/A", "", "[MASK]", put in every text input of the item: query and product alike for a matching
task); the label probabilities (over the set) are divided by the mean content-free probabilities,
and the largest wins. The content-free probabilities are computed once per
(task, label set) and cached.

A label's score is the log-probability of its tokens followed by end of turn, under the prompt
(``Backend.option_logprobs``), so multi-token labels and labels that prefix others are scored whole.
The answer is still one of the labels, by construction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

#: Inputs that carry no content, put in place of the item's text field.
CONTENT_FREE = ("N/A", "", "[MASK]")


def option_probs(logprobs: Sequence[float]) -> np.ndarray:
    """Softmax over the options' sequence log-probabilities."""
    x = np.asarray(logprobs, dtype=np.float64)
    x = np.exp(x - x.max())
    return x / x.sum()


@dataclass
class ContextualCalibrator:
    """Caches the content-free label distribution per (task, label set) and applies it."""

    _prior: dict[tuple[str, tuple[str, ...]], np.ndarray] = field(default_factory=dict)

    def prior(self, task: str, options: Sequence[str], score: Callable[[str], Sequence[float]],
              prompt_with: Callable[[str], str]) -> np.ndarray:
        """Mean label distribution over the content-free inputs (``prompt_with(text)`` renders the
        prompt with that text; ``score(prompt)`` gives the options' log-probabilities)."""
        key = (task, tuple(options))
        got = self._prior.get(key)
        if got is None:
            got = np.mean([option_probs(score(prompt_with(cf))) for cf in CONTENT_FREE], axis=0)
            if len(self._prior) > 256:
                self._prior.clear()
            self._prior[key] = got
        return got

    @staticmethod
    def choose(options: Sequence[str], logprobs: Sequence[float], prior: np.ndarray) -> tuple[str, np.ndarray]:
        """The calibrated answer and the calibrated distribution over ``options``."""
        p = option_probs(logprobs) / np.maximum(prior, 1e-12)
        p = p / p.sum()
        return options[int(np.argmax(p))], p


def content_free_fields(fields: Mapping[str, Any], content_fields: Sequence[str], text: str) -> dict[str, Any]:
    """``fields`` with each of the item's own text inputs (``content_fields``: the text, or query and
    product, or product A and B) replaced by a content-free input; options kept."""
    out = dict(fields)
    for name in content_fields:
        out[name] = text
    return out


__all__ = ["CONTENT_FREE", "ContextualCalibrator", "content_free_fields", "option_probs"]
