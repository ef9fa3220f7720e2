"""``ecomlm bench``: load time, memory, tokens/s and items/s per model and backend."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ecomlm.runtime.cli import add_models_options

from . import decode_rows, export_chain, http_batch, prompt_tokens, threads


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure speed and memory of models and backends",
                       description="Load time, peak RSS, prompt and generation tokens/s, and items/s of "
                                   "NER over 100 product titles, for each model; our API vs raw "
                                   "llama-cpp-python, prefix-cache reuse, and batched decoding.")
    add_models_options(p, "model to measure; ratios are against the first")
    p.add_argument("--items", type=int, default=100, help="number of titles (at most 100)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--batch-sizes", default="1,8",
                   help="sequences per llama_decode to compare, comma-separated ('' to skip)")
    p.add_argument("--no-raw", action="store_true", help="skip the raw llama-cpp-python comparison")
    p.add_argument("--vote-items", type=int, default=30,
                   help="titles for NER's default vote of 8, its samples side by side vs one after another "
                        "(llama.cpp; 0: skip)")
    p.add_argument("--machine", default=None, help="machine description written into bench.md")
    p.add_argument("--out", type=Path, default=None, help="folder for bench.json and bench.md")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)

    # The focused measurements (also `python -m ecomlm.bench.<module>`); each module imports its
    # heavy packages inside its handler.
    for name, module, what in (
            ("bench-threads", threads, "prompt and decode tokens/s of llama.cpp per thread split"),
            ("bench-prompt-tokens", prompt_tokens, "where a training instance's tokens go, per task"),
            ("bench-export-chain", export_chain, "wall time of the whole export chain, cold cache"),
            ("bench-http-batch", http_batch, "NER items/s through the HTTP API: a request per item vs the batch route"),
            ("bench-decode-rows", decode_rows, "cost and exactness of checking several tokens in one llama.cpp pass")):
        q = sub.add_parser(name, help=what, description=module.__doc__.split("\n\n")[0])
        module.add_arguments(q)
        q.set_defaults(func=getattr(module, "cmd_" + name.replace("-", "_")))


def cmd_bench(args: argparse.Namespace) -> int:
    from ecomlm.runtime.atomic_io import atomic_write
    from ecomlm.runtime.errors import InvalidInputError

    from .runner import BenchConfig, render_markdown, run_bench

    if not 1 <= args.items <= 100:
        raise InvalidInputError("--items must be between 1 and 100")
    try:
        sizes = tuple(int(s) for s in args.batch_sizes.split(",") if s.strip())
    except ValueError:
        raise InvalidInputError(f"--batch-sizes must be comma-separated integers, not {args.batch_sizes!r}")
    if any(s < 1 for s in sizes):
        raise InvalidInputError("--batch-sizes must be at least 1")
    cfg = BenchConfig(models=args.models or ["default"], backend=args.backend, n_items=args.items,
                      n_threads=args.threads, batch_sizes=sizes, compare_raw=not args.no_raw,
                      vote_items=max(0, args.vote_items), progress=not args.no_progress)
    report = run_bench(cfg)
    command = "ecomlm " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["bench"] else None
    md = render_markdown(report, command=command, machine=args.machine)
    print(md)
    if args.out is not None:
        with atomic_write(args.out / "bench.json") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        with atomic_write(args.out / "bench.md") as f:
            f.write(md)
        print(f"wrote {args.out}/bench.json and bench.md")
    return 0
