"""What checking several tokens in one llama.cpp pass costs, and whether it gives the same logits.

    ecomlm bench-decode-rows [--model default] [--threads 1]   # or python -m ecomlm.bench.decode_rows

Copy-aware (prompt-lookup) drafting and decoding several items at once both rest on one trade: a
``llama_decode`` over k tokens, each with its logits, instead of k passes of one token. They pay only
where (1) the k-token pass costs much less than k one-token passes, and (2) each row of it has the
logits the token would have alone (otherwise greedy answers change at near-ties). This measures both
on the loaded model:

- pass time by rows: k answer tokens after a 150-token context, logits for every row (the fastest of
  6 timings), against k single-token passes;
- exactness: 32 answer tokens evaluated one at a time and as one batch, largest logit difference and
  share of positions with the same argmax, with flash attention off (the runtime's setting) and on.

Prints two Markdown tables (bench/BENCH.md, "Decoding several tokens per pass").
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Optional, Sequence

CONTEXT = ("Lenovo IdeaPad 5 14-inch laptop, Intel Core i7 processor, 16GB RAM, 512GB SSD, silver. "
           "Samsung Galaxy S24 Ultra 256GB titanium black, unlocked. ")
ANSWER = ("Brand: Lenovo\nProduct: IdeaPad 5 14-inch laptop\nComponent: Intel Core i7 processor\n"
          "Attribute: 16GB RAM\nAttribute: 512GB SSD\nAttribute: silver")


def _load(path: str, lora: Optional[str], threads: int, flash_attn: bool) -> Any:
    from llama_cpp import Llama
    return Llama(model_path=path, lora_path=lora, n_ctx=1024, n_threads=threads, n_threads_batch=threads,
                 flash_attn=flash_attn, verbose=False)


def _pass(llm: Any, tokens: Sequence[int], n_past: int) -> Any:
    """Evaluate ``tokens`` after the first ``n_past`` cached ones in one ``llama_decode``, logits for
    every row: the runtime's own batched step (``LlamaGreedy.eval_rows``, which drafts use)."""
    from ecomlm.runtime.backends.llama_decoding import LlamaGreedy

    llm.n_tokens = n_past
    return LlamaGreedy(llm, [], []).eval_rows(tokens)


def row_costs(llm: Any, rows: Sequence[int] = (1, 2, 4, 8, 16), repeats: int = 6) -> list[tuple[int, float]]:
    """(k, milliseconds of one k-token pass) after a 150-token context."""
    tokens = llm.tokenize((CONTEXT * 8).encode())
    llm.reset()
    llm.eval(tokens[:150])
    out = []
    for k in rows:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _pass(llm, tokens[150:150 + k], 150)
            times.append(time.perf_counter() - t0)
        out.append((k, 1000 * min(times)))
    return out


def exactness(llm: Any) -> tuple[float, float]:
    """(largest |logit difference|, share of positions with the same argmax): the answer's tokens
    one at a time vs in one batch, after the same context."""
    import numpy as np

    context = llm.tokenize(CONTEXT.encode())
    answer = llm.tokenize(ANSWER.encode(), add_bos=False)[:32]
    llm.reset()
    llm.eval(context)
    n0 = llm.n_tokens
    alone = np.concatenate([_pass(llm, [t], n0 + k) for k, t in enumerate(answer)])
    batched = _pass(llm, answer, n0)
    return float(np.abs(alone - batched).max()), float((alone.argmax(1) == batched.argmax(1)).mean())


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm bench-decode-rows`` (and ``python -m ecomlm.bench.decode_rows``)."""
    p.add_argument("--model", default="default", help="'default', 'base', another GGUF model name or a .gguf path")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for every pass (default: 1)")


def cmd_bench_decode_rows(args: argparse.Namespace) -> int:
    """Measure and print the two tables."""
    import llama_cpp

    from ecomlm.runtime.backends.llama_cpp_backend import _prefer_passive_threads
    from ecomlm.runtime.errors import InvalidInputError
    from ecomlm.runtime.model_ref import resolve

    _prefer_passive_threads()
    ref = resolve(args.model)
    if ref.kind != "gguf":
        raise InvalidInputError(f"{args.model!r} is not a GGUF model; this benchmark measures llama.cpp")
    path, lora = str(ref.path), str(ref.adapter) if ref.adapter else None
    info = llama_cpp.llama_print_system_info().decode()
    sgemm = "LLAMAFILE = 1" in info
    print(f"model {args.model}, {args.threads} thread(s), llama.cpp built "
          f"{'with' if sgemm else 'without'} llamafile's sgemm\n")
    llm = _load(path, lora, args.threads, False)
    try:
        costs = row_costs(llm)
    finally:
        llm.close()
    one = costs[0][1]
    print("| tokens in the pass | ms per pass | ms per token | k one-token passes / one k-token pass |")
    print("|---|---|---|---|")
    for k, ms in costs:
        print(f"| {k} | {ms:.1f} | {ms / k:.1f} | {k * one / ms:.2f}x |")
    print("\n| flash attention | largest logit difference, batch vs one at a time | same argmax |")
    print("|---|---|---|")
    for fa in (False, True):
        llm = _load(path, lora, args.threads, fa)
        try:
            diff, same = exactness(llm)
        finally:
            llm.close()
        print(f"| {'on' if fa else 'off'} | {diff:.3g} | {100 * same:.0f}% |")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ecomlm.bench.decode_rows``: the same as ``ecomlm bench-decode-rows``."""
    from ecomlm.runtime.cli import script_main
    return script_main("python -m ecomlm.bench.decode_rows", __doc__.split("\n")[0], add_arguments,
                       cmd_bench_decode_rows, argv)


if __name__ == "__main__":
    raise SystemExit(main())
