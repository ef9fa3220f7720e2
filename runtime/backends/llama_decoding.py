"""Greedy decoding on llama.cpp under a byte automaton, optionally with drafts copied from the prompt.

The answer tokens of extraction tasks are mostly copies of the input, so the input is a free draft
(prompt-lookup decoding): after each token the loop proposes the next few tokens, taken from the
source text the copy automaton is following (``automaton.py``: ``CopyLines``), or else from the
latest earlier occurrence of the last generated tokens in prompt and answer. One batched
``llama_decode`` checks the token and its drafts at prompt speed; a draft token is kept only while it
is the masked argmax at its position, so the answer is the greedy answer token for token (up to the
floating-point difference between batched and single-token evaluation), just produced in fewer
passes. ``LlamaDecodeStats`` counts passes and kept drafts.

That difference is not small on a CPU: for the shipped model (Q4_1 base + float16 LoRA) the logits of
one batched pass differed from token-by-token evaluation by up to 0.75, enough to flip near-ties, so
drafting changed 6 of 12 NER answers of the bench titles and, on one thread, was slower. Drafts are
therefore off by default (``LlamaCppBackend(draft_tokens=0)``): decoding is then token by token,
exactly as llama-cpp-python's own ``create_completion`` does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from .. import deadline
from .automaton import ALL, ConstrainedDecoder, log_softmax, without_repeats
from .prompt_cache import llama_prompt_passes
from .sampling import GREEDY, Picker

NEWLINE = 0x0A


@dataclass
class LlamaDecodeStats:
    """What one ``greedy`` call did: answer tokens, model passes, draft tokens proposed and kept."""

    tokens: int = 0
    passes: int = 0
    drafted: int = 0
    accepted: int = 0


def repeated_line(text: bytes) -> bool:
    """Whether the last complete line of a list answer repeats an earlier line."""
    if not text.endswith(b"\n"):
        return False
    lines = text.split(b"\n")[:-1]
    return len(lines) > 1 and lines[-1] in lines[:-1]


def drop_last_line(text: bytes) -> bytes:
    """``text`` without its last complete line (the repeated one ``repeated_line`` found)."""
    return text[: text.rstrip(b"\n").rfind(b"\n")]


def allowed_next(decoder: Optional[ConstrainedDecoder], state: Any, answer: Sequence[int], no_repeat_ngram: int,
                 n_vocab: int, eos: Sequence[int]) -> Optional[np.ndarray]:
    """The token ids an answer may continue with (``None``: any): the constraint's at ``state``
    (with end of turn once complete), less those that would repeat an ``no_repeat_ngram``-gram of
    ``answer`` (its tokens so far); end of turn where nothing is left."""
    ids = decoder.allowed_or_end(state) if decoder is not None else None
    if no_repeat_ngram:
        everything = np.arange(n_vocab, dtype=np.int64) if ids is None else ids
        ruled = without_repeats(everything, answer, no_repeat_ngram)
        ids = ruled if ids is not None or len(ruled) < n_vocab else None
    if ids is None:
        return None
    return ids if len(ids) else np.asarray(eos, dtype=np.int64)


class LlamaVocabulary:
    """A llama.cpp model's token bytes (``None`` for control tokens) and end-of-turn ids, as
    ``DecoderCache`` reads them from a tokenizer."""

    def __init__(self, llm: Any, eos_ids: Sequence[int]) -> None:
        self.llm = llm
        self.eos_ids = sorted({int(i) for i in eos_ids})

    def token_bytes(self) -> list[Optional[bytes]]:
        import ctypes

        import llama_cpp

        vocab = self.llm._model.vocab
        buf = ctypes.create_string_buffer(256)
        out: list[Optional[bytes]] = []
        for i in range(self.llm.n_vocab()):
            # the piece's real length (llama-cpp-python's own token_to_piece returns the whole buffer)
            n = llama_cpp.llama_token_to_piece(vocab, i, buf, len(buf), 0, False)
            out.append(buf.raw[:n] if n > 0 else None)
        return out


class LlamaGreedy:
    """Greedy decoding of one llama-cpp-python ``Llama`` (its KV cache and token bookkeeping)."""

    def __init__(self, llm: Any, eos_ids: Sequence[int], token_bytes: Sequence[Optional[bytes]]) -> None:
        self.llm = llm
        self.eos = [int(i) for i in eos_ids]
        self.token_bytes = token_bytes
        self.n_vocab = llm.n_vocab()

    # -- evaluation ------------------------------------------------------------------------------
    def _logits_rows(self, n: int) -> np.ndarray:
        ptr = self.llm._ctx.get_logits()
        return np.ctypeslib.as_array(ptr, shape=(n * self.n_vocab,)).reshape(n, self.n_vocab).copy()

    def prefill(self, tokens: Sequence[int]) -> np.ndarray:
        """Evaluate a prompt after the longest prefix already cached, its last token in a pass of
        its own (``llama_prompt_passes``); the last position's logits."""
        llm = self.llm
        passes = llama_prompt_passes(llm.input_ids[: llm.n_tokens], tokens, int(llm.n_batch))
        llm.n_tokens = passes[0][0]
        for a, b in passes:
            llm.eval(list(tokens[a:b]))
        return self._logits_rows(1)[0]

    def eval_rows(self, tokens: Sequence[int]) -> np.ndarray:
        """Evaluate ``tokens`` after the cache in one batch; the logits of every position."""
        llm = self.llm
        deadline.check()
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        n_past = llm.n_tokens
        llm._batch.set_batch(batch=list(tokens), n_past=n_past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past: n_past + len(tokens)] = tokens
        llm.n_tokens = n_past + len(tokens)
        return self._logits_rows(len(tokens))

    def continuation_logprob(self, first: np.ndarray, n_prompt: int, seq: Sequence[int]) -> float:
        """Log-probability of ``seq`` after the cached prompt of ``n_prompt`` tokens (``first``: the
        logits after the prompt), evaluated one token at a time as greedy decoding does; the cache
        is cut back to the prompt afterwards."""
        total = float(log_softmax(first)[seq[0]])
        for k in range(1, len(seq)):
            self.llm.eval([seq[k - 1]])
            total += float(log_softmax(self._logits_rows(1)[0])[seq[k]])
        self.llm.n_tokens = n_prompt
        return total

    # -- choosing ----------------------------------------------------------------------------------
    def _draft(self, decoder: Optional[ConstrainedDecoder], state: Any, history: Sequence[int],
               k: int) -> list[int]:
        """Up to ``k`` tokens that likely come next (see the module docstring)."""
        if k <= 0:
            return []
        auto = decoder.automaton if decoder is not None else None
        if auto is not None and auto.source is not None and state is not None and state[0] == "C":
            key = state[2]
            if key != ALL and len(key):
                start = int(np.frombuffer(key, dtype=np.int32)[0])
                data = auto.source.data[start: start + 6 * k].tobytes()
                cut = data.find(b"\n")
                data = data[:cut] if cut >= 0 else data
                if data:
                    text = data.decode("utf-8", errors="ignore")
                    return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:k]
        for n in (3, 2, 1):  # prompt lookup: the latest earlier occurrence of the last n tokens
            tail = list(history[-n:])
            for i in range(len(history) - n - 1, -1, -1):
                if list(history[i:i + n]) == tail:
                    return [t for t in history[i + n: i + n + k] if t not in self.eos]
        return []

    # -- the loop ------------------------------------------------------------------------------------
    def greedy(self, prompt: Sequence[int], max_tokens: int, decoder: Optional[ConstrainedDecoder], *,
               stop_on_repeat: bool = False, draft: int = 8, no_repeat_ngram: int = 0,
               stats: Optional[LlamaDecodeStats] = None, pick: Picker = GREEDY) -> bytes:
        """The greedy answer to ``prompt`` (token ids) under ``decoder`` (``None``: unconstrained),
        as bytes; end of turn only once the answer is complete. ``stop_on_repeat`` ends a list answer
        whose last line repeats an earlier one (and drops that line); ``no_repeat_ngram`` never
        repeats an answer ``n``-gram of that size (``automaton.repeat_bans``). ``pick``: another way
        to choose each token (``sampling.py``; drafts are then off, as they check the argmax)."""
        stats = stats if stats is not None else LlamaDecodeStats()
        draft = draft if pick is GREEDY else 0
        auto = decoder.automaton if decoder is not None else None
        state = auto.start() if auto is not None else None
        logits = self.prefill(prompt)
        stats.passes += 1
        history = list(prompt)
        out = b""
        count = 0
        budget = max(0, min(max_tokens, self.llm.n_ctx() - len(prompt)))

        def allowed() -> Optional[np.ndarray]:
            return allowed_next(decoder, state, history[len(prompt):], no_repeat_ngram, self.n_vocab, self.eos)

        while count < budget:
            token = pick(logits, allowed())
            if token in self.eos:
                stats.tokens += count
                return out
            pending = [token]
            drafts = self._draft(decoder, auto.walk(state, self.token_bytes[token] or b"") if auto else None,
                                 history + pending, min(draft, budget - count - 1))
            rows = self.eval_rows(pending + drafts)
            stats.passes += 1
            stats.drafted += len(drafts)
            for i in range(len(drafts) + 1):
                tok = pending[i] if i == 0 else drafts[i - 1]
                if i > 0:
                    expect = GREEDY(rows[i - 1], allowed())
                    if expect != tok:  # the draft ends here: drop its cache, carry on from rows[i-1]
                        self.llm.n_tokens = len(history)
                        logits = rows[i - 1]
                        break
                    stats.accepted += 1
                history.append(tok)
                out += self.token_bytes[tok] or b""
                count += 1
                if auto is not None:
                    state = auto.walk(state, self.token_bytes[tok] or b"")
                    assert state is not None, "a chosen token left the language"
                repeated = stop_on_repeat and repeated_line(out)
                if repeated or count >= budget:
                    self.llm.n_tokens = len(history)
                    stats.tokens += count
                    if repeated:
                        return drop_last_line(out)
                    return auto.finish(out) if auto is not None else out
                logits = rows[i]
        stats.tokens += count
        return auto.finish(out) if auto is not None else out
