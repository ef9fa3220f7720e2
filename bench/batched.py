"""Greedy decoding of several prompts at once on llama.cpp (one sequence id per prompt).

llama-cpp-python's ``Llama`` decodes one sequence at a time. To measure whether batched decoding
raises items/s on a CPU, this drives llama.cpp's own batch API (``llama_batch`` with several sequence
ids, one ``llama_decode`` per step for all of them) through llama-cpp-python's low-level bindings,
on the weights an already loaded ``Llama`` holds. ``n_parallel=1`` runs the same code one prompt at a
time, so the two differ only in batching. Decoding is greedy and unconstrained (no grammar).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class BatchedRun:
    """What one batched-decoding run did."""

    n_parallel: int
    items: int
    seconds: float
    prompt_tokens: int
    generated_tokens: int

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def gen_tokens_per_s(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds else 0.0


def batched_greedy(llm: Any, prompts: Sequence[Sequence[int]], max_tokens: int, n_parallel: int,
                   n_threads: int) -> tuple[list[list[int]], BatchedRun]:
    """Greedy-decode ``prompts`` (token ids) ``n_parallel`` at a time on ``llm`` (a ``llama_cpp.Llama``).

    Returns the generated token ids of each prompt and the run's timing.
    """
    import numpy as np
    from llama_cpp import llama_cpp as C
    from llama_cpp._internals import LlamaBatch, LlamaContext
    from ecomlm.runtime.backends.llama_parallel import add_to_batch

    longest = max(len(p) for p in prompts) + max_tokens
    params = C.llama_context_default_params()
    per_seq = -(-longest // 256) * 256  # llama.cpp gives each sequence a multiple of 256 cells
    params.n_ctx = n_parallel * per_seq
    params.n_batch = max(n_parallel * longest, 64)
    params.n_ubatch = min(512, params.n_batch)
    params.n_seq_max = n_parallel
    params.n_threads = params.n_threads_batch = n_threads
    ctx = LlamaContext(model=llm._model, params=params, verbose=False)
    vocab = C.llama_model_get_vocab(llm._model.model)
    n_vocab = llm.n_vocab()
    batch = LlamaBatch(n_tokens=params.n_batch, embd=0, n_seq_max=n_parallel, verbose=False)
    outputs: list[list[int]] = []
    generated = 0
    t0 = time.perf_counter()
    try:
        for start in range(0, len(prompts), n_parallel):
            chunk = [list(p) for p in prompts[start:start + n_parallel]]
            C.llama_memory_clear(ctx.memory, True)
            batch.reset()
            last: dict[int, int] = {}  # sequence -> index of its logits row in the batch
            for s, p in enumerate(chunk):
                batch.add_sequence(p, s, False)
                last[s] = batch.n_tokens() - 1
            outs: list[list[int]] = [[] for _ in chunk]
            active = set(range(len(chunk)))
            for step in range(max_tokens):
                if C.llama_decode(ctx.ctx, batch.batch) != 0:
                    raise RuntimeError("llama_decode failed (context too small?)")
                nxt: dict[int, int] = {}
                for s in sorted(active):
                    logits = np.ctypeslib.as_array(C.llama_get_logits_ith(ctx.ctx, last[s]), shape=(n_vocab,))
                    tok = int(logits.argmax())
                    if C.llama_vocab_is_eog(vocab, tok):
                        active.discard(s)
                    else:
                        outs[s].append(tok)
                        nxt[s] = tok
                if not nxt or step == max_tokens - 1:
                    break
                batch.reset()
                for s, tok in sorted(nxt.items()):
                    last[s] = add_to_batch(batch.batch, tok, len(chunk[s]) + len(outs[s]) - 1, s, True)
            outputs.extend(outs)
            generated += sum(len(o) for o in outs)
    finally:
        seconds = time.perf_counter() - t0
        batch.close()
        ctx.close()
    return outputs, BatchedRun(n_parallel=n_parallel, items=len(prompts), seconds=seconds,
                               prompt_tokens=sum(len(p) for p in prompts), generated_tokens=generated)


__all__ = ["BatchedRun", "batched_greedy"]
