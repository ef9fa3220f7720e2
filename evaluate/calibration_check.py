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

import argparse
from collections import Counter
from itertools import islice
from typing import Any, Iterable, Iterator, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.fields import FIELDS

_CAPTION_FIELD = {spec.caption: name for name, spec in FIELDS.items()}


def fields_of(task: catalog.Task, user: str) -> Optional[dict[str, Any]]:
    """The fields behind a rendered user message (``None`` when a field cannot be recovered)."""
    out: dict[str, Any] = {}
    lines = user.split("\n")
    for i, line in enumerate(lines):
        caption, sep, value = line.partition(": ")
        name = _CAPTION_FIELD.get(caption)
        if not sep or name not in task.fields:
            continue
        if name == "text":  # the source text comes last and may span lines
            out[name] = "\n".join([value, *lines[i + 1:]])
            break
        out[name] = FIELDS[name].from_prompt(value)
    return out if all(f in out for f in task.required) else None


def split_records(records: Iterable[dict], task: catalog.Task,
                  lang: Optional[str] = None) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(fields read back from the user message, the assistant's target, language) of ``task``'s
    instances in a corpus split (of ``lang`` only, when given); instances whose fields do not read
    back are skipped. What the validation-split checks (this one, ``repeat_check``,
    ``extraction_check``) read."""
    for record in records:
        if record.get("task") != task.name or (lang and record.get("lang") != lang):
            continue
        user = next(m["content"] for m in record["messages"] if m["role"] == "user")
        target = next(m["content"] for m in record["messages"] if m["role"] == "assistant")
        try:
            fields = fields_of(task, user)
        except InvalidInputError:  # a field that does not read back from its prompt line
            continue
        if fields is not None:
            yield fields, target, record.get("lang", "en")


def by_language(items: Iterable[tuple[Any, Any, str]]) -> list[tuple[str, list[tuple[Any, Any]]]]:
    """(language, [(a, b), ...]) for (a, b, language) items, languages in sorted order."""
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for a, b, lang in items:
        groups.setdefault(lang, []).append((a, b))
    return sorted(groups.items())


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


def split_check_parser(prog: str, description: str, task_help: str, limit: int) -> argparse.ArgumentParser:
    """The options the validation-split checks share (this one, ``repeat_check``): --data, --task
    (repeatable), --model, --lang, --limit, --threads, --no-specialists."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--data", required=True, help="a corpus split (val.jsonl from `ecomlm data build`)")
    p.add_argument("--task", action="append", dest="tasks", required=True, help=task_help)
    p.add_argument("--model", default="default")
    p.add_argument("--limit", type=int, default=limit, help="at most N instances a task")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--lang", default=None, help="only instances of this language (en, zh)")
    p.add_argument("--no-specialists", action="store_true",
                   help="the model's one adapter for every task, not its task specialists")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    from tqdm import tqdm

    from ecomlm.runtime import EcomModel
    from ecomlm.train.corpus_file import read_corpus

    p = split_check_parser("python -m ecomlm.evaluate.calibration_check", __doc__.split("\n\n")[0],
                           "a single-label or yes/no task (repeat)", limit=200)
    args = p.parse_args(argv)
    model = EcomModel.load(args.model, specialists=not args.no_specialists,
                           **({"n_threads": args.threads} if args.threads else {}))
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
