"""Several answers to one prompt decoded together on llama.cpp: one ``llama_decode`` a step for all.

A vote or consensus (``runtime/consensus.py``) writes the greedy answer, then ``n - 1`` seeded
samples to the same prompt. One after another, each sample pays a full model pass per token. Here
the samples run as sequences of one llama.cpp context: the prompt is evaluated once into sequence 0,
its KV cells are shared with sequences 1..n (``llama_memory_seq_cp`` copies no data), and every step
decodes one token of each unfinished sample in one batch. On a CPU a pass over k rows costs less
than k passes over one row (bench/BENCH.md: 8 rows about 2x cheaper than 8 single passes for the
shipped model), so the samples take less time: NER's whole vote of 8 ran 1.26x (``default``) and
1.40x (``multilingual``) faster in ``ecomlm bench``.

Each sample keeps its own picker (the same seeded ``EpsilonSampler`` a sequential sample gets), its
own constraint state, repeat rule and token budget, so it is chosen token by token as it would be
alone, from logits that differ from single-row evaluation only by the batch's floating-point
rounding (llama.cpp computes a batch with other kernels: bench/BENCH.md, "Decoding several tokens
per pass"). The greedy answer is not decoded here: it stays on the model's own context, token by
token, so ``consensus_of=1`` and the first of the written answers are unchanged.

The context is a second one on the same weights (with the same LoRA adapter), made on first use;
its sequence 0 keeps the last prompt, so consecutive calls of one task evaluate only the new suffix,
as the main context does.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from .. import deadline
from .automaton import ConstrainedDecoder
from .beam import beam_search
from .llama_decoding import allowed_next, drop_last_line, repeated_line
from .prompt_cache import llama_prompt_passes
from .sampling import Picker


@dataclass
class _Answer:
    """One sequence's answer in the making."""

    seq: int
    pick: Picker
    state: Any
    tokens: list[int] = field(default_factory=list)
    text: bytes = b""
    result: Optional[bytes] = None


def add_to_batch(batch: Any, token: int, pos: int, seq: int, logits: bool) -> int:
    """Append ``token`` at position ``pos`` of sequence ``seq`` to a ``llama_batch`` (with its logits
    if ``logits``); its row in the batch."""
    j = batch.n_tokens
    batch.token[j] = token
    batch.pos[j] = pos
    batch.seq_id[j][0] = seq
    batch.n_seq_id[j] = 1
    batch.logits[j] = logits
    batch.n_tokens = j + 1
    return j


class LlamaParallel:
    """Samples of one prompt decoded side by side in a multi-sequence context of ``llm``'s weights."""

    def __init__(self, llm: Any, eos_ids: Sequence[int], token_bytes: Sequence[Optional[bytes]], *,
                 n_seq: int, n_ctx: int, n_threads: int, n_threads_batch: int) -> None:
        from llama_cpp import llama_cpp as C
        from llama_cpp._internals import LlamaBatch, LlamaContext
        from llama_cpp._utils import suppress_stdout_stderr

        self.llm = llm
        self.eos = [int(i) for i in eos_ids]
        self.token_bytes = token_bytes
        self.n_vocab = llm.n_vocab()
        self.n_seq = n_seq
        # the model context's own settings (attention kernel, cache types, rope, ...), so that a row
        # is computed as there
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = n_ctx
        params.n_seq_max = n_seq + 1  # sequence 0: the prompt; 1..n_seq: the answers
        params.kv_unified = True  # one pool of cells: the answers share the prompt's
        params.n_threads = n_threads
        params.n_threads_batch = n_threads_batch
        # llama.cpp's notes on making a context (Gemma 3: the sliding-window cache) stay off the
        # terminal, as the model's own load notes do (llama_cpp_backend.py)
        with suppress_stdout_stderr(disable=os.environ.get("ECOMLM_LLAMA_LOG") == "1"):
            self.ctx = LlamaContext(model=llm._model, params=params, verbose=False)
        adapter = getattr(llm, "_lora_adapter", None)
        if adapter is not None:
            adapters = (C.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(float(llm.lora_scale))
            if C.llama_set_adapters_lora(self.ctx.ctx, adapters, 1, scales):
                self.ctx.close()
                raise RuntimeError("llama.cpp could not apply the LoRA adapter to the sampling context")
        self.n_ctx = n_ctx
        self.n_batch = int(params.n_batch)
        self.batch = LlamaBatch(n_tokens=max(self.n_batch, n_seq), embd=0, n_seq_max=n_seq + 1,
                                verbose=False)
        self.prompt: list[int] = []  # what sequence 0 holds

    def close(self) -> None:
        self.batch.close()
        self.ctx.close()

    # -- evaluation --------------------------------------------------------------------------------
    def _row(self, i: int) -> np.ndarray:
        from llama_cpp import llama_cpp as C
        return np.ctypeslib.as_array(C.llama_get_logits_ith(self.ctx.ctx, i), shape=(self.n_vocab,)).copy()

    def _decode(self) -> None:
        from llama_cpp import llama_cpp as C
        deadline.check()
        if C.llama_decode(self.ctx.ctx, self.batch.batch) != 0:
            raise RuntimeError("llama_decode failed in the sampling context")

    def _add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        return add_to_batch(self.batch.batch, token, pos, seq, logits)

    def prefill(self, tokens: Sequence[int]) -> np.ndarray:
        """Sequence 0 := ``tokens``, evaluating only what follows the prefix it already holds, the
        last token alone; that token's logits.

        The last token is always evaluated in a pass of its own and the tokens before it in passes
        of several rows, as the model context's greedy prefill does (``llama_prompt_passes``): the
        logits a row gets depend on whether its pass has one row, so the samples start from the
        greedy answer's first logits, on a first call as on a repeated one."""
        from llama_cpp import llama_cpp as C
        passes = llama_prompt_passes(self.prompt, tokens, self.n_batch)
        keep = passes[0][0]
        C.llama_memory_seq_rm(self.ctx.memory, 0, keep, -1)
        self.prompt = list(tokens[:keep])
        for a, b in passes:
            self._eval(tokens[a:b], a)
        return self._row(0)

    def _eval(self, part: Sequence[int], start: int) -> None:
        """``part`` into sequence 0 at position ``start``, one pass, logits for its last row only."""
        self.batch.reset()
        for k, tok in enumerate(part):
            self._add(int(tok), start + k, 0, k == len(part) - 1)
        self._decode()
        self.prompt.extend(int(t) for t in part)

    # -- the loop ----------------------------------------------------------------------------------
    def fits(self, n_prompt: int, n_answers: int, budget: int) -> bool:
        """Whether the prompt and ``n_answers`` answers of ``budget`` tokens fit the context's cells."""
        return 0 < n_answers <= self.n_seq and n_prompt + n_answers * budget <= self.n_ctx

    def sample(self, prompt: Sequence[int], budget: int, decoder: Optional[ConstrainedDecoder],
               picks: Sequence[Picker], *, stop_on_repeat: bool = False,
               no_repeat_ngram: int = 0) -> list[bytes]:
        """One answer to ``prompt`` per picker, each at most ``budget`` tokens, under ``decoder``
        (``None``: unconstrained), with the rules of ``LlamaGreedy.greedy``; ``fits`` must hold."""
        from llama_cpp import llama_cpp as C
        auto = decoder.automaton if decoder is not None else None
        first = self.prefill(prompt)
        n_prompt = len(prompt)
        answers = [_Answer(seq=i + 1, pick=p, state=auto.start() if auto is not None else None)
                   for i, p in enumerate(picks)]
        for a in answers:
            C.llama_memory_seq_rm(self.ctx.memory, a.seq, -1, -1)
            C.llama_memory_seq_cp(self.ctx.memory, 0, a.seq, 0, n_prompt)
        logits = {a.seq: first for a in answers}
        if budget <= 0:
            for a in answers:
                a.result = auto.finish(b"") if auto is not None else b""
        try:
            active = [a for a in answers if a.result is None]
            while active:
                self.batch.reset()
                rows: dict[int, int] = {}
                for a in active:
                    token = a.pick(logits[a.seq], allowed_next(decoder, a.state, a.tokens, no_repeat_ngram,
                                                                self.n_vocab, self.eos))
                    if token in self.eos:
                        a.result = a.text
                        continue
                    a.tokens.append(token)
                    piece = self.token_bytes[token] or b""
                    a.text += piece
                    if auto is not None:
                        a.state = auto.walk(a.state, piece)
                        assert a.state is not None, "a chosen token left the language"
                    if stop_on_repeat and repeated_line(a.text):
                        a.result = drop_last_line(a.text)
                    elif len(a.tokens) >= budget:
                        a.result = auto.finish(a.text) if auto is not None else a.text
                    else:
                        rows[a.seq] = self._add(token, n_prompt + len(a.tokens) - 1, a.seq, True)
                active = [a for a in active if a.result is None]
                if not active:
                    break
                self._decode()
                for a in active:
                    logits[a.seq] = self._row(rows[a.seq])
        finally:
            for a in answers:
                C.llama_memory_seq_rm(self.ctx.memory, a.seq, -1, -1)
        return [a.result if a.result is not None else b"" for a in answers]

    def beam(self, prompt: Sequence[int], budget: int, decoder: Optional[ConstrainedDecoder], width: int, *,
             length_normalized: bool = False, stop_on_repeat: bool = False, no_repeat_ngram: int = 0) -> bytes:
        """The answer of a ``width``-wide beam search (``beam.py``) to ``prompt``, each partial answer
        in a sequence of its own; ``fits(len(prompt), width, budget)`` must hold."""
        first = self.prefill(prompt)
        driver = _SequenceBeams(self, len(prompt), width)
        try:
            return beam_search(first, driver, decoder, width=width, budget=budget, eos=self.eos,
                               token_bytes=self.token_bytes, n_vocab=self.n_vocab,
                               length_normalized=length_normalized, stop_on_repeat=stop_on_repeat,
                               no_repeat_ngram=no_repeat_ngram)
        finally:
            driver.release()


class _SequenceBeams:
    """``beam.BeamDriver`` over a ``LlamaParallel``: partial answers in sequences 1..width (sequence 0,
    the handle of the empty answer, keeps the prompt). A partial answer's first child takes over its
    sequence; the others get a free one holding a copy of its cells (``llama_memory_seq_cp`` shares
    them), then every child's token is evaluated in one batch."""

    root = 0

    def __init__(self, parallel: LlamaParallel, n_prompt: int, width: int) -> None:
        self.p = parallel
        self.n_prompt = n_prompt
        self.slots = list(range(1, width + 1))
        self.held: set[int] = set()

    def extend(self, children: Sequence[tuple[int, int, int]]) -> list[tuple[int, np.ndarray]]:
        from llama_cpp import llama_cpp as C
        memory = self.p.ctx.memory
        handles: list[Optional[int]] = [None] * len(children)
        kept: set[int] = set()
        for i, (parent, _, _) in enumerate(children):
            if parent != self.root and parent not in kept:
                kept.add(parent)
                handles[i] = parent
        for slot in self.held - kept:  # partial answers no child continues
            C.llama_memory_seq_rm(memory, slot, -1, -1)
        free = [s for s in self.slots if s not in kept]
        for i, (parent, _, _) in enumerate(children):
            if handles[i] is None:
                slot = free.pop(0)
                C.llama_memory_seq_rm(memory, slot, -1, -1)
                C.llama_memory_seq_cp(memory, parent, slot, -1, -1)
                handles[i] = slot
        self.held = {h for h in handles if h is not None}
        self.p.batch.reset()
        rows = [self.p._add(token, self.n_prompt + length, handle, True)
                for handle, (_, token, length) in zip(handles, children)]
        self.p._decode()
        return [(h, self.p._row(r)) for h, r in zip(handles, rows)]

    def release(self) -> None:
        from llama_cpp import llama_cpp as C
        for slot in self.slots:
            C.llama_memory_seq_rm(self.p.ctx.memory, slot, -1, -1)


__all__ = ["LlamaParallel"]
