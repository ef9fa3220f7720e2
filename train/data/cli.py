"""``ecomlm data build``: the command-line face of ``build.build_corpus``."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="build the instruction-tuning corpus")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    b = sub.add_parser("build", help="build train/val JSONL + stats from the public datasets",
                       description="Build the EcomInstruct-style corpus (see train/data/CORPUS.md).")
    b.add_argument("--source", type=Path, required=True, help="folder holding the dataset folders")
    b.add_argument("--heldout", type=Path, required=True,
                   help="folder of the held-out evaluation sets (read only for the contamination guard)")
    b.add_argument("--out", type=Path, required=True, help="output folder (train.jsonl, val.jsonl, stats.*)")
    b.add_argument("--cap", type=int, default=800, help="most instances per (task, dataset) pair (default 800)")
    b.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    b.add_argument("--no-atomic", action="store_true", help="ablation: leave out the atomic tasks")
    b.add_argument("--val-fraction", type=float, default=0.05, help="share of source records for val")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.add_argument("--long-entities", action="store_true",
                   help="experiment: ask a quarter of the English entity tasks on several annotated texts "
                        "joined into one 80-300-word input (round 9 of train/TRAINING.md: lower NER; off "
                        "by default)")
    b.add_argument("--questions-per-context", type=int, default=1, metavar="N",
                   help="experiment: ask up to N short-answer questions of one context (attribute "
                        "questions over an offer, opinion questions over a review), each its own instance "
                        "(a QA specialist trained on N=3 was not better: train/TRAINING.md; default 1)")
    b.add_argument("--restate", action="append", default=[], metavar="TASK=FIELD[,FIELD]",
                   help="prompt layout: TASK's user turn writes FIELD again after its inputs (e.g. "
                        "qa=question, the question after a long context); an adapter trained on such a "
                        "corpus is asked the same way once shipped (its layout.json); repeatable (a QA "
                        "specialist trained with qa=question was not better: train/TRAINING.md)")
    b.add_argument("--gate", type=int, default=0, metavar="N",
                   help="also write gate.jsonl: up to N instances per (task, dataset) pair that the cap "
                        "left out, from records no train or val instance holds: fresh items for a ship "
                        "gate that no earlier check has looked at (train and val stay the same; default 0)")
    b.set_defaults(func=handle_build)
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])


def parse_restate(specs: list[str]) -> dict[str, tuple[str, ...]]:
    """``["qa=question"]`` -> ``{"qa": ("question",)}``; raises naming the expected form."""
    from ecomlm.runtime.errors import InvalidInputError
    layout: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        task, sep, names = spec.partition("=")
        fields = tuple(n.strip() for n in names.split(",") if n.strip())
        if not sep or not task.strip() or not fields:
            raise InvalidInputError(f"--restate {spec!r}: expected TASK=FIELD[,FIELD], e.g. qa=question")
        layout[task.strip()] = layout.get(task.strip(), ()) + fields
    return layout


def handle_build(args: argparse.Namespace) -> int:
    from .build import BuildConfig, build_corpus
    stats = build_corpus(BuildConfig(source=args.source, out=args.out, heldout=args.heldout, cap=args.cap,
                                     seed=args.seed, atomic=not args.no_atomic,
                                     val_fraction=args.val_fraction, progress=not args.quiet,
                                     long_entities=args.long_entities,
                                     questions_per_context=args.questions_per_context,
                                     restate=parse_restate(args.restate), gate=args.gate))
    tr = stats["train"]
    gate = f" / {stats['gate']['n_instances']:,} gate" if "gate" in stats else ""
    print(f"wrote {args.out}: {tr['n_instances']:,} train / {stats['val']['n_instances']:,} val{gate} instances, "
          f"{stats['n_tasks']} tasks, {stats['n_datasets']} datasets, "
          f"{stats['heldout_overlap_dropped']:,} dropped by the held-out guard, {stats['build_seconds']} s")
    return 0
