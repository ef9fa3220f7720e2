"""Does the no-repeat n-gram rule help a free-text task? Rouge-L per n-gram size, on a corpus split.

    python -m ecomlm.evaluate.repeat_check --data corpus/val.jsonl --task title_generation \\
        [--task ad_copy] [--model default] [--sizes 0,3] [--lang zh] [--limit 100] [--threads 1] \\
        [--no-specialists]

The held-out EcomGPT tasks of ../shared have one free-text task (Chinese title generation, scored by
``ecomlm eval --no-repeat-ngram N``); this reads the validation split that ``ecomlm data build``
writes (never trained on), recovers each instance's fields from its user message as
``calibration_check`` does, and scores the greedy answer under each n-gram size (0: no rule) against
the instance's target, with the mean answer length and the share of answers that stop before the
token budget.
"""
from __future__ import annotations

import argparse
import time
from itertools import islice
from typing import Any, Iterable, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError

from .split_reading import by_language, split_check_parser, split_records
from .metrics import rouge_l


def instances(records: Iterable[dict], task: catalog.Task,
              lang: Optional[str]) -> Iterable[tuple[dict[str, Any], str, str]]:
    """(fields, target, language) of ``task``'s instances in a corpus split."""
    for fields, target, language in split_records(records, task, lang):
        try:
            normalized = catalog.normalize_fields(task, fields)
        except InvalidInputError:  # a field that does not read back from its prompt (review lists)
            continue
        yield normalized, target, language


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes comma-separated integers, not {text!r}") from None
    if not sizes or any(n < 0 for n in sizes):
        raise argparse.ArgumentTypeError("--sizes needs one or more sizes >= 0 (0: no rule)")
    return sizes


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.runtime import EcomModel
    from ecomlm.train.corpus_file import read_corpus
    from tqdm import tqdm

    p = split_check_parser("python -m ecomlm.evaluate.repeat_check", __doc__.split("\n\n")[0],
                           "a free-text task: title_generation, ad_copy, summarize, answer_question (repeat)",
                           limit=100)
    p.add_argument("--sizes", type=_sizes, default=[0, 3], help="n-gram sizes to compare, 0 = no rule")
    args = p.parse_args(argv)
    tasks = [catalog.get_task(name) for name in args.tasks]
    for task in tasks:
        if not task.kind.free_text:
            raise SystemExit(f"{task.name} is not a free-text task")
    options = {"n_threads": args.threads} if args.threads else {}
    first = EcomModel.load(args.model, no_repeat_ngram=args.sizes[0],
                           specialists=not args.no_specialists, **options)
    models = {n: first.variant(no_repeat_ngram=n) for n in args.sizes}  # one loaded model
    backend = first.backend
    print("| task | lang | n | n-gram size | Rouge-L | mean answer chars | stopped before the budget | s/item |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|")
    for task in tasks:
        every = by_language(islice(instances(read_corpus(args.data), task, args.lang), args.limit))
        for size, lang, items in ((s, lang, items) for lang, items in every for s in args.sizes):
            scores, chars, stopped = [], 0, 0
            t0 = time.perf_counter()
            for fields, target in tqdm(items, desc=f"{task.name} {lang} n={size}", unit="item"):
                result = models[size].run(task.name, **fields)
                text = task.kind.answer_text(result)
                scores.append(rouge_l(text, target, lang))
                chars += len(text)
                budget = models[size]._max_tokens(task, fields)  # fields are normalized (instances)
                stopped += backend.count_tokens(result.raw) < budget
            n = max(1, len(items))
            seconds = (time.perf_counter() - t0) / n
            print(f"| {task.name} | {lang} | {len(items)} | {size} | {100 * sum(scores) / n:.2f} | "
                  f"{chars / n:.0f} | {stopped}/{len(items)} | {seconds:.2f} |", flush=True)
    first.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
