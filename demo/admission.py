"""Refusing, before the model starts, a request that cannot finish within the server's time limit.

Each answered call teaches ``CostModel`` how fast the model goes: seconds per *budget token*, where
a call's budget is its prompt tokens (weighted ``PROMPT_WEIGHT``: a prompt is read in batches, many
times faster per token than decoding) plus its answer budget (``max_tokens``, an upper bound on the
tokens it may decode). The estimate for a new call uses the *fastest* rate seen (optimistic: only a
request that would overrun even at the best observed speed is refused), and none is made before
``MIN_SAMPLES`` calls have been seen. The time limit itself is still enforced by the deadline
(``runtime.deadline``); this check only spares the server work that is bound to be thrown away.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any, Mapping, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import EcomError

PROMPT_WEIGHT = 0.1
MIN_SAMPLES = 3


class TooSlowError(EcomError):
    """The request would take longer than the server's time limit (refused before any work)."""


def call_budget(model: Any, task: str, fields: Mapping[str, Any], truncate: bool,
                consensus_of: Optional[int] = None, beams: Optional[int] = None) -> tuple[int, int]:
    """(prompt tokens, answer budget in tokens) of one call of ``model`` (an ``EcomModel``); a
    call that keeps the consensus of ``n`` answers writes ``n`` of them, and a first answer found by
    a beam search of width ``b`` decodes up to ``b`` partial answers a step."""
    t = catalog.get_task(task)
    norm = catalog.normalize_fields(t, fields)
    max_tokens = model._max_tokens(t, norm)
    n_answers = model._consensus_of(t, consensus_of) - 1 + model._beams(t, beams)
    backend = model.backend_for(t, norm)
    n_prompt = backend.count_tokens(model.prompt_for(t, norm))
    if truncate:
        n_prompt = min(n_prompt, max(0, backend.n_ctx - max_tokens))
    return n_prompt, max_tokens * n_answers


class CostModel:
    """Seconds per budget token of recent calls; estimates how long a call will take."""

    def __init__(self, window: int = 64) -> None:
        self._rates: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    @staticmethod
    def units(n_prompt: int, max_tokens: int) -> float:
        return PROMPT_WEIGHT * n_prompt + max_tokens

    def record(self, n_prompt: int, max_tokens: int, seconds: float) -> None:
        units = self.units(n_prompt, max_tokens)
        if units > 0 and seconds > 0:
            with self._lock:
                self._rates.append(seconds / units)

    def estimate(self, n_prompt: int, max_tokens: int) -> Optional[float]:
        """Seconds the call would take at the fastest rate seen, or ``None`` before enough calls."""
        with self._lock:
            if len(self._rates) < MIN_SAMPLES:
                return None
            return min(self._rates) * self.units(n_prompt, max_tokens)

    def admit(self, n_prompt: int, max_tokens: int, seconds_left: Optional[float]) -> None:
        """Raise ``TooSlowError`` when the call cannot finish in ``seconds_left``."""
        if seconds_left is None:
            return
        est = self.estimate(n_prompt, max_tokens)
        if est is not None and est > seconds_left:
            raise TooSlowError(
                f"this request would take about {est:.0f} s ({n_prompt} prompt tokens, up to "
                f"{max_tokens} answer tokens) but {max(seconds_left, 0):.0f} s are left of the "
                f"server's time limit; send a shorter text, fewer options or a smaller consensus_of "
                f"(1: one answer)")


__all__ = ["CostModel", "TooSlowError", "call_budget"]
