"""Prompt and decode tokens/s of llama.cpp for several thread splits (decode threads, prompt threads).

    ecomlm bench-threads [--model base] [--threads N] [--repeats 3]   # or python -m ecomlm.bench.threads

The runtime's default split (``runtime.backends.llama_cpp_backend.thread_counts``) comes from this
measurement: with sleeping threads (``OMP_WAIT_POLICY=PASSIVE``, the runtime's default), decoding one
token at a time is slower on several threads than on one, while the prompt gains from every thread.
Run it with ``OMP_WAIT_POLICY=ACTIVE`` to compare spinning threads. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Optional, Sequence

TEXT = "The battery lasts ten hours and the screen is bright, but the keyboard feels cheap. "


def measure(model_path: str, lora_path: Optional[str], decode: int, batch: int, *, prompt_tokens: int = 400,
            new_tokens: int = 32, repeats: int = 3) -> tuple[float, float]:
    """(prompt tokens/s, decode tokens/s) for one split, the fastest of ``repeats`` timings each."""
    from llama_cpp import Llama

    llm = Llama(model_path=model_path, lora_path=lora_path, n_ctx=2048, n_threads=decode,
                n_threads_batch=batch, verbose=False)
    try:
        tokens = llm.tokenize((TEXT * 40).encode())[:prompt_tokens]
        best_prompt = best_decode = 0.0
        for _ in range(repeats):
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(tokens)
            best_prompt = max(best_prompt, len(tokens) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for tok in tokens[:new_tokens]:
                llm.eval([tok])
            best_decode = max(best_decode, new_tokens / (time.perf_counter() - t0))
        return best_prompt, best_decode
    finally:
        llm.close()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm bench-threads`` (and ``python -m ecomlm.bench.threads``)."""
    p.add_argument("--model", default="base", help="'base', 'default' or a .gguf path (default: base)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="most threads (default: all CPUs)")
    p.add_argument("--repeats", type=int, default=3, help="timings per split; the fastest counts")


def cmd_bench_threads(args: argparse.Namespace) -> int:
    """Measure each thread split and print the table."""
    from ecomlm.runtime.backends.llama_cpp_backend import _prefer_passive_threads, thread_counts
    from ecomlm.runtime.errors import InvalidInputError
    from ecomlm.runtime.model_ref import resolve

    _prefer_passive_threads()
    ref = resolve(args.model)
    if ref.kind != "gguf":
        raise InvalidInputError(f"{args.model!r} is not a GGUF model; this benchmark measures llama.cpp: "
                                f"give base, default or a .gguf file")
    n = max(1, args.threads)
    splits = sorted({(1, 1), (n, n), (1, n)})
    print(f"model {args.model}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, runtime default split "
          f"(decode, prompt) = {thread_counts(n)}\n")
    print("| decode threads | prompt threads | prompt tok/s | decode tok/s |\n|---|---|---|---|")
    for decode, batch in splits:
        prompt, gen = measure(str(ref.path), str(ref.adapter) if ref.adapter else None, decode, batch,
                              repeats=args.repeats)
        print(f"| {decode} | {batch} | {prompt:.0f} | {gen:.0f} |")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ecomlm.bench.threads``: the same as ``ecomlm bench-threads``."""
    from ecomlm.runtime.cli import script_main
    return script_main("python -m ecomlm.bench.threads", __doc__.split("\n")[0], add_arguments,
                       cmd_bench_threads, argv)


if __name__ == "__main__":
    raise SystemExit(main())
