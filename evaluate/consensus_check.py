"""Does keeping the consensus answer among several help a free-text task? Rouge-L per candidate count.

    python -m ecomlm.evaluate.consensus_check --data corpus/val.jsonl --task title_generation \\
        [--model multilingual] [--counts 1,4,8] [--lang zh] [--limit 200] [--threads 1] [--no-specialists]

Reads the validation split as ``repeat_check`` does and, per instance, writes the greedy answer and
``max(counts) - 1`` sampled ones once (``EcomModel.run(consensus_of=)``); for each count ``n`` the
answer kept is the consensus one among the first ``n`` written (``consensus.py``; ``n = 1`` is the
greedy answer), scored against the instance's target, with the mean answer length.
"""
from __future__ import annotations

import argparse
import time
from itertools import islice
from typing import Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.consensus import consensus_order

from .metrics import rouge_l
from .repeat_check import instances
from .split_reading import by_language, split_check_parser


def _counts(text: str) -> list[int]:
    try:
        counts = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--counts takes comma-separated integers, not {text!r}") from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("--counts needs one or more counts >= 1 (1: greedy only)")
    return counts


def kept(written: Sequence[str], n: int) -> str:
    """The answer kept among the first ``n`` written."""
    first = list(written[:n])
    return first[consensus_order(first)[0]]


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.runtime import EcomModel
    from ecomlm.train.corpus_file import read_corpus
    from tqdm import tqdm

    p = split_check_parser("python -m ecomlm.evaluate.consensus_check", __doc__.split("\n\n")[0],
                           "a free-text task: title_generation, ad_copy, summarize, answer_question (repeat)",
                           limit=100)
    p.add_argument("--counts", type=_counts, default=[1, 4, 8],
                   help="candidate counts to compare (1: the greedy answer only)")
    args = p.parse_args(argv)
    tasks = [catalog.get_task(name) for name in args.tasks]
    for task in tasks:
        if not task.kind.free_text:
            raise SystemExit(f"{task.name} is not a free-text task")
    options = {"n_threads": args.threads} if args.threads else {}
    model = EcomModel.load(args.model, specialists=not args.no_specialists, **options)
    most = args.counts[-1]
    print("| task | lang | items | consensus of | Rouge-L | mean answer chars | s/item (all written) |\n"
          "|---|---|---:|---:|---:|---:|---:|")
    for task in tasks:
        for lang, items in by_language(islice(instances(read_corpus(args.data), task, args.lang), args.limit)):
            written: list[tuple[list[str], str]] = []
            t0 = time.perf_counter()
            for fields, target in tqdm(items, desc=f"{task.name} {lang}", unit="item"):
                result = model.run(task.name, consensus_of=most, **fields)
                written.append((result.written or [task.kind.answer_text(result)], target))
            seconds = (time.perf_counter() - t0) / max(1, len(items))
            for n in args.counts:
                answers = [(kept(texts, n), target) for texts, target in written]
                m = max(1, len(answers))
                score = 100 * sum(rouge_l(a, t, lang) for a, t in answers) / m
                chars = sum(len(a) for a, _ in answers) / m
                print(f"| {task.name} | {lang} | {len(answers)} | {n} | {score:.2f} | {chars:.0f} | "
                      f"{seconds:.2f} |", flush=True)
    model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
