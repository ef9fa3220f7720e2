"""Beam search under a decoding constraint: the answer the model finds most probable as a whole.

Greedy decoding takes the likeliest token at each step, so one early near-tie decides the whole
answer: for an answer span copied from a long context, the first token picks the phrase. Beam search
keeps the ``width`` likeliest partial answers at every step and returns the complete answer of the
highest score, so a span whose first token came second can still win when the rest of it is far more
probable. Every partial answer stays inside the constraint's language (``automaton.py``), as greedy
ones do.

The search is backend-independent: a ``BeamDriver`` evaluates one token for each of several partial
answers in one pass and hands back their next logits (``llama_parallel.py``: one KV sequence per
partial answer, the prompt's cells shared). Scores are the model's own log-probabilities (the whole
vocabulary's softmax, end of turn included), summed, or divided by the answer's token count with
``length_normalized``. At each step the ``width`` best candidates are kept: an end of turn among
them completes its answer, the others go on as partial answers. Summed scores only fall as an
answer grows, so the search stops once no partial answer scores above the best complete one;
normalized, it runs until no partial answer is left. An answer at the token budget is completed by
the automaton, as greedy decoding does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol, Sequence

import numpy as np

from .automaton import ConstrainedDecoder, log_softmax
from .llama_decoding import allowed_next, drop_last_line, repeated_line


class BeamDriver(Protocol):
    """Evaluates partial answers for ``beam_search``; each lives in a handle (e.g. a KV sequence)."""

    root: Any  # the handle of the empty answer (the prompt alone)

    def extend(self, children: Sequence[tuple[Any, int, int]]) -> list[tuple[Any, np.ndarray]]:
        """For each ``(parent handle, token, answer length before it)``, a handle holding the parent's
        answer plus ``token``, and the logits after it; every handle not returned may be reused."""


@dataclass
class _Partial:
    handle: Any
    tokens: list[int]
    text: bytes
    state: Any
    score: float
    logits: np.ndarray


def beam_search(first: np.ndarray, driver: BeamDriver, decoder: Optional[ConstrainedDecoder], *, width: int,
                budget: int, eos: Sequence[int], token_bytes: Sequence[Optional[bytes]], n_vocab: int,
                length_normalized: bool = False, stop_on_repeat: bool = False,
                no_repeat_ngram: int = 0) -> bytes:
    """The highest-scoring complete answer (bytes) of a ``width``-wide beam search from ``first`` (the
    logits after the prompt), each answer at most ``budget`` tokens, under ``decoder`` (``None``:
    unconstrained), with greedy decoding's rules for repeated lines and repeated n-grams."""
    if width < 1:
        raise ValueError(f"a beam needs a width of at least 1, not {width}")
    auto = decoder.automaton if decoder is not None else None
    eos_set = {int(e) for e in eos}

    def finished_text(text: bytes) -> bytes:
        return auto.finish(text) if auto is not None else text

    def final(score: float, n_tokens: int) -> float:
        return score / max(1, n_tokens) if length_normalized else score

    if budget <= 0:
        return finished_text(b"")
    beams = [_Partial(driver.root, [], b"", auto.start() if auto is not None else None, 0.0, first)]
    done: list[tuple[float, int, bytes]] = []  # (score, order found, text)
    while beams:
        candidates: list[tuple[float, int, int]] = []
        for b, beam in enumerate(beams):
            ids = allowed_next(decoder, beam.state, beam.tokens, no_repeat_ngram, n_vocab, list(eos))
            lp = log_softmax(beam.logits)
            pool = np.arange(n_vocab) if ids is None else np.asarray(ids)
            k = min(width + 1, len(pool))
            top = pool[np.argpartition(-lp[pool], k - 1)[:k]] if k < len(pool) else pool
            candidates.extend((beam.score + float(lp[t]), b, int(t)) for t in top)
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
        chosen: list[tuple[int, int, float, bytes, Any]] = []
        for rank, (score, b, token) in enumerate(candidates):
            if len(chosen) >= width:
                break
            parent = beams[b]
            if token in eos_set:
                if rank < width:  # an answer ends here if it ranks among the step's best `width`
                    done.append((final(score, len(parent.tokens) + 1), len(done), finished_text(parent.text)))
                continue
            text = parent.text + (token_bytes[token] or b"")
            state = auto.walk(parent.state, token_bytes[token] or b"") if auto is not None else None
            if auto is not None:
                assert state is not None, "a chosen token left the language"
            n = len(parent.tokens) + 1
            if stop_on_repeat and repeated_line(text):
                done.append((final(score, n), len(done), drop_last_line(text)))
            elif n >= budget:
                done.append((final(score, n), len(done), finished_text(text)))
            else:
                chosen.append((b, token, score, text, state))
        if not chosen:
            break
        if done and not length_normalized and max(c[2] for c in chosen) <= max(d[0] for d in done):
            break  # no partial answer can still beat the best complete one
        made = driver.extend([(beams[b].handle, token, len(beams[b].tokens)) for b, token, *_ in chosen])
        beams = [_Partial(handle, beams[b].tokens + [token], text, state, score, logits)
                 for (b, token, score, text, state), (handle, logits) in zip(chosen, made)]
    if not done:
        return finished_text(b"")
    return max(done, key=lambda d: (d[0], -d[1]))[2]


__all__ = ["BeamDriver", "beam_search"]
