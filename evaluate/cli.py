"""``ecomlm eval``: score models on the EcomGPT held-out tasks."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ecomlm.runtime.cli import SWITCHES, add_models_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score models on the EcomGPT held-out tasks",
                       description="Run each model on the held-out tasks (through the task catalog) and "
                                   "write results.json, predictions.jsonl, results.md and results.png. Each "
                                   "answered item is kept in OUT/eval-journal.jsonl until the results are "
                                   "written: a stopped run continues with the same command and --resume.")
    p.add_argument("--heldout", required=True, type=Path,
                   help="folder of the held-out tasks (<Dataset>/tasks/<task>/{meta-info,test}.json), "
                        "e.g. ../shared/ecomgpt_heldout")
    add_models_options(p, "model to evaluate")
    p.add_argument("--task", action="append", dest="tasks", metavar="NAME",
                   help="only this held-out task (folder name; repeat for several)")
    add_run_options(p)
    p.add_argument("--calibrate", choices=tuple(SWITCHES), default="default",
                   help="contextual label calibration of single-label tasks: each task's default, "
                        "always, or never (runtime/calibration.py)")
    p.add_argument("--retype", choices=tuple(SWITCHES), default="default",
                   help="re-decide each decoded span's type with the task's typing task (NER, "
                        "attribute extraction): each task's default, always, or never "
                        "(runtime/retyping.py)")
    p.add_argument("--chunk", choices=tuple(SWITCHES), default="default",
                   help="read a long input of a span task (NER, span detection) in sentence-aligned pieces "
                        "and merge the spans: each task's default (on for NER and span detection), "
                        "always, or never (runtime/chunking.py)")
    p.add_argument("--no-repeat-ngram", type=int, default=None, metavar="N",
                   help="free-text answers (titles, ad copy) never repeat a token n-gram of N tokens; "
                        "0 turns the rule off (default: the output kind's, 3)")
    p.add_argument("--consensus-of", type=int, default=None, metavar="N",
                   help="free-text and span answers: what the greedy answer and N-1 sampled ones agree "
                        "on (default: each task's setting; 1: greedy only; runtime/consensus.py)")
    p.add_argument("--beams", type=int, default=None, metavar="N",
                   help="find each call's first answer by a beam search of N partial answers (default: "
                        "the model's setting for each task, 4 for qa on default; 1: greedy; runtime/backends/beam.py)")
    p.add_argument("--no-specialists", action="store_true",
                   help="answer every task with the model's one adapter, not a task specialist "
                        "(to measure what a specialist buys)")
    p.add_argument("--copy-spans", choices=("on", "off"), default="on",
                   help="decode spans copied from the input (on) or as free lines checked afterwards "
                        "(off: the earlier decoding, to measure what copying buys)")
    p.add_argument("--allow-none", choices=("mapping", "always"), default="mapping",
                   help="the 'None' answer of span tasks: as each task's mapping says (Reddit QA "
                        "requires an answer), or always allowed (to measure what requiring buys)")
    p.add_argument("--parallel-samples", choices=("on", "off"), default="on",
                   help="a vote's sampled answers decoded side by side, one llama.cpp pass a step for "
                        "all (on), or one after another (off: the decoding of the figures before "
                        "2026-12-06; runtime/backends/llama_parallel.py)")
    add_resume_options(p)
    p.set_defaults(func=cmd_eval)


def add_resume_options(p: argparse.ArgumentParser) -> None:
    """--resume and --fresh (eval, eval-realistic: ``journal.py``)."""
    p.add_argument("--resume", action="store_true",
                   help="continue a stopped run of the same models and settings into the same --out: "
                        "the items it answered (OUT/eval-journal.jsonl) are kept, the others answered")
    p.add_argument("--fresh", action="store_true",
                   help="discard a stopped run's answers in --out and start over")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options every evaluation command shares (eval, eval-realistic): --limit, --n-ctx,
    --threads, --machine, --out, --no-progress; ``check_run_options`` checks them."""
    p.add_argument("--limit", type=int, default=None, help="only the first N items of each task")
    p.add_argument("--n-ctx", type=int, default=4096, help="context window in tokens")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for llama.cpp (default: all cores; 1 is faster on a busy machine)")
    p.add_argument("--machine", default=None, help="machine description written into results.md")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def check_run_options(args: argparse.Namespace) -> None:
    from ecomlm.runtime.errors import InvalidInputError

    if args.limit is not None and args.limit < 1:
        raise InvalidInputError("--limit must be at least 1")
    if getattr(args, "no_repeat_ngram", None) is not None and args.no_repeat_ngram < 0:
        raise InvalidInputError("--no-repeat-ngram must be 0 (off) or a positive n-gram size")


def cmd_eval(args: argparse.Namespace) -> int:
    from .runner import EvalConfig, run_eval

    check_run_options(args)
    config = EvalConfig(heldout=args.heldout, models=args.models or ["default"], out=args.out,
                        backend=args.backend, limit=args.limit, tasks=args.tasks, n_ctx=args.n_ctx,
                        n_threads=args.threads, progress=not args.no_progress,
                        calibrate=SWITCHES[args.calibrate],
                        retype=SWITCHES[args.retype],
                        chunk=SWITCHES[args.chunk], no_repeat_ngram=args.no_repeat_ngram,
                        consensus_of=args.consensus_of, beams=args.beams, specialists=not getattr(args, "no_specialists", False),
                        copy_spans=args.copy_spans == "on", force_allow_none=args.allow_none == "always",
                        parallel_samples=args.parallel_samples == "on", resume=args.resume, fresh=args.fresh)
    command = "ecomlm " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["eval"] else None
    results = run_eval(config, command=command, machine=args.machine)
    for ref, r in results["models"].items():
        pooled = r["pooled"]
        parts = [f"{k}={v:.2f}" for k, v in pooled.items() if k != "n" and v is not None]
        print(f"{ref}: n={pooled['n']} " + " ".join(parts))
    print(f"wrote {args.out}/results.json, predictions.jsonl, results.md, results.png")
    return 0
