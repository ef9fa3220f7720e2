"""Does keeping what several answers agree on help a task? Its metric per answer count.

    python -m ecomlm.evaluate.consensus_check --data corpus/val.jsonl --task title_generation \\
        [--model multilingual] [--counts 1,4,8] [--lang zh] [--limit 200] [--threads 1] [--no-specialists]

Reads the validation split as ``repeat_check`` does and, per instance, writes the greedy answer and
``max(counts) - 1`` sampled ones once (``EcomModel.run(consensus_of=)``); for each count ``n`` the
answer kept is the one agreed among the first ``n`` written (``n = 1`` is the greedy answer), scored
against the instance's target. Free text and answer spans keep the answer that agrees most with the
others, scored by Rouge-L with the mean answer length; span lists keep the spans that at least
``k`` of the ``n`` answers hold, for every ``k`` from 1 to ``n`` (the task's own ``k`` marked), scored
by micro-F1 over (type, text) pairs with the mean spans per answer. A long source that the run
reads in pieces votes piece by piece; here its pieces' answers are joined and voted whole, which
differs only where one span recurs in several pieces.
"""
from __future__ import annotations

import argparse
import time
from itertools import islice
from typing import Iterator, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.consensus import consensus_order

from .metrics import micro_f1, rouge_l
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


def _span_rows(task: catalog.Task, written: list[tuple[dict, list[str], str]], counts: Sequence[int]
               ) -> Iterator[tuple[str, float, float]]:
    """(rule, micro-F1, mean spans) of a span-list task for each count and vote threshold."""
    kind = task.kind
    pairs = lambda fields, raw: [(s.type, s.text) for s in kind.parse(task, raw, fields).spans]  # noqa: E731
    golds = [pairs(fields, target) for fields, _, target in written]
    for n in counts:
        for k in range(1, n + 1):
            preds = [pairs(fields, kind.voted_answer(task, texts[:n], fields, k)) for fields, texts, _ in written]
            mark = " (the task's)" if n > 1 and k == kind.votes_needed(n) else ""
            yield (f"{n}, spans held by >= {k}{mark}", micro_f1(preds, golds),
                   sum(map(len, preds)) / max(1, len(preds)))


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.runtime import EcomModel
    from ecomlm.train.corpus_file import read_corpus
    from tqdm import tqdm

    p = split_check_parser("python -m ecomlm.evaluate.consensus_check", __doc__.split("\n\n")[0],
                           "a task with consensus: title_generation, ad_copy, summarize, ner, qa, ... (repeat)",
                           limit=100)
    p.add_argument("--counts", type=_counts, default=[1, 4, 8],
                   help="answer counts to compare (1: the greedy answer only)")
    args = p.parse_args(argv)
    tasks = [catalog.get_task(name) for name in args.tasks]
    for task in tasks:
        if not task.kind.consensus:
            raise SystemExit(f"{task.name}: its output kind ({task.output}) keeps no consensus")
    options = {"n_threads": args.threads} if args.threads else {}
    model = EcomModel.load(args.model, specialists=not args.no_specialists, **options)
    most = args.counts[-1]
    print("| task | lang | items | answers (rule) | metric | score | mean answer size | s/item (all written) |\n"
          "|---|---|---:|---|---|---:|---:|---:|")
    for task in tasks:
        for lang, items in by_language(islice(instances(read_corpus(args.data), task, args.lang), args.limit)):
            written: list[tuple[dict, list[str], str]] = []
            t0 = time.perf_counter()
            for fields, target in tqdm(items, desc=f"{task.name} {lang}", unit="item"):
                result = model.run(task.name, consensus_of=most, **fields)
                written.append((fields, result.written or [result.raw], target))
            seconds = (time.perf_counter() - t0) / max(1, len(items))
            if hasattr(task.kind, "voted_answer"):
                rows = [(rule, "micro-F1", score, f"{size:.2f} spans")
                        for rule, score, size in _span_rows(task, written, args.counts)]
            else:
                rows = []
                for n in args.counts:
                    answers = [(kept(texts, n), target) for _, texts, target in written]
                    m = max(1, len(answers))
                    score = 100 * sum(rouge_l(a, t, lang) for a, t in answers) / m
                    rows.append((str(n), "Rouge-L", score, f"{sum(len(a) for a, _ in answers) / m:.0f} chars"))
            for rule, metric, score, size in rows:
                print(f"| {task.name} | {lang} | {len(written)} | {rule} | {metric} | {score:.2f} | {size} | "
                      f"{seconds:.2f} |", flush=True)
    model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
