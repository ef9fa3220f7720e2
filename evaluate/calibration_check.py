"""Does label calibration help a single-label or yes/no task? Accuracy with and without, on a corpus split.

    python -m ecomlm.evaluate.calibration_check --data corpus/val_en.jsonl --task product_category \\
        [--model default] [--lang zh] [--limit 200] [--threads 1] [--no-specialists]

The held-out EcomGPT tasks of ../shared have one English single-label task (review topic, scored by
``ecomlm eval --calibrate on|off``); for the others (product category, sentiment, ...) this reads the
validation split that ``ecomlm data build`` writes (never trained on), recovers each instance's
fields from its user message (``Caption: value`` lines of the catalog), and compares greedy answers
with calibrated ones (``runtime/calibration.py``) against the gold answer and the majority label.
"""
from __future__ import annotations

from collections import Counter
from itertools import islice
from typing import Any, Iterable, Iterator, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError

from .split_reading import by_language, split_check_model, split_check_parser, split_records


def instances(records: Iterable[dict], task: catalog.Task,
              lang: Optional[str] = None) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(fields, gold answer, language) of ``task``'s instances in a corpus split."""
    for fields, answer, language in split_records(records, task, lang):
        try:
            options = catalog.options_of(task, catalog.normalize_fields(task, fields))
        except InvalidInputError:  # a field that does not read back from its prompt line
            continue
        if answer in options:
            yield fields, answer, language


def main(argv: Optional[Sequence[str]] = None) -> int:
    from tqdm import tqdm

    from ecomlm.train.corpus_file import read_corpus

    p = split_check_parser("python -m ecomlm.evaluate.calibration_check", __doc__.split("\n\n")[0],
                           "a single-label or yes/no task (repeat)", limit=200)
    args = p.parse_args(argv)
    model = split_check_model(args)
    print("| task | lang | n | majority | greedy | calibrated |\n|---|---|---:|---:|---:|---:|")
    for name in args.tasks:
        task = catalog.get_task(name)
        if not task.kind.calibrates or not task.content_fields:
            raise SystemExit(f"{name} is not a single-label or yes/no task")
        every = islice(instances(read_corpus(args.data), task, args.lang), args.limit)
        for lang, items in by_language(every):
            gold = [a for _, a in items]
            greedy = calibrated = 0
            for fields, answer in tqdm(items, desc=f"{name} {lang}", unit="item"):
                greedy += task.kind.answer_text(model.run(name, calibrate=False, **fields)) == answer
                calibrated += task.kind.answer_text(model.run(name, calibrate=True, **fields)) == answer
            n = max(1, len(items))
            majority = Counter(gold).most_common(1)[0][1] if gold else 0
            print(f"| {name} | {lang} | {len(items)} | {100 * majority / n:.1f} | {100 * greedy / n:.1f} | "
                  f"{100 * calibrated / n:.1f} |", flush=True)
    model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
