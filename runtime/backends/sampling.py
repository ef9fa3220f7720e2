"""How a decoding loop picks the next token from its logits: greedily, or by a seeded draw.

Every loop (``automaton.ConstrainedDecoder``, ``automaton.greedy_free``, ``llama_decoding``) takes a
``Picker``: ``pick(logits, allowed)`` returns one token id, drawn from ``allowed`` (token ids, or
``None`` for the whole vocabulary). ``GREEDY`` is the argmax; ``EpsilonSampler`` draws from the
model's distribution after dropping every token of probability below ``epsilon`` (epsilon sampling,
Hewitt et al. 2022), the draw Freitag et al. 2023 found best for picking among samples by consensus
(``runtime/consensus.py``). A sampler is seeded, so the same call gives the same answer again.
"""
from __future__ import annotations

from typing import Optional, Protocol

import numpy as np


class Picker(Protocol):
    """Chooses the next token: ``logits`` over the vocabulary, ``allowed`` the ids it may choose."""

    def __call__(self, logits: np.ndarray, allowed: Optional[np.ndarray]) -> int: ...


def greedy_pick(logits: np.ndarray, allowed: Optional[np.ndarray]) -> int:
    """The allowed token of the highest logit."""
    if allowed is None:
        return int(np.argmax(logits))
    return int(allowed[int(np.argmax(logits[allowed]))])


GREEDY: Picker = greedy_pick


class EpsilonSampler:
    """A seeded draw at ``temperature`` among the allowed tokens of probability >= ``epsilon``
    (renormalised over the allowed ones); the most probable token is always kept."""

    def __init__(self, seed: int, *, epsilon: float = 0.02, temperature: float = 1.0) -> None:
        if not 0.0 <= epsilon < 1.0 or temperature <= 0.0:
            raise ValueError(f"epsilon must be in [0, 1) and temperature above 0 "
                             f"(got {epsilon}, {temperature})")
        self.rng = np.random.default_rng(seed)
        self.epsilon = epsilon
        self.temperature = temperature

    def __call__(self, logits: np.ndarray, allowed: Optional[np.ndarray]) -> int:
        ids = np.arange(len(logits)) if allowed is None else np.asarray(allowed)
        scores = logits[ids].astype(np.float64) / self.temperature
        finite = np.isfinite(scores)
        if not finite.any():
            return int(ids[0])
        probs = np.where(finite, np.exp(scores - scores[finite].max()), 0.0)
        probs /= probs.sum()
        keep = (probs >= self.epsilon) | (probs == probs.max())
        probs = np.where(keep, probs, 0.0)
        return int(ids[self.rng.choice(len(ids), p=probs / probs.sum())])
