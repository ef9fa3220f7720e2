"""``answer_check`` instances derived from a corpus's extractive QA instances (an experiment).

    python -m ecomlm.train.data.answer_checks --data runs/corpus-mq/train_en.jsonl \\
        --out runs/answer-check/train.jsonl [--seed 2720]

``answer_check`` (catalog) asks whether a proposed span of the context answers the question. Each
``qa`` instance with an answer gives two: its gold span -> Yes, and one negative -> No. The negative
is the answer of another question about the same context where the corpus asks one (a span that
does answer something, only not this question: what the model confuses on Reddit threads), else a
random span of the context of the gold's word count that neither holds the gold nor is held by it.
Instances whose fields do not read back, or whose answer is "None", give nothing. The output is a
corpus file ``ecomlm train`` reads (the qa instance's dataset and language kept); it is written to a
temporary file, then renamed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
from collections import defaultdict
from typing import Any, Iterable, Iterator, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.constraints import NONE_ANSWER

TASK = "answer_check"


def _qa_items(records: Iterable[dict]) -> list[tuple[dict[str, Any], str, dict]]:
    """(fields, gold span, record) of the qa instances that have an answer."""
    from ecomlm.evaluate.split_reading import split_records

    qa = catalog.get_task("qa")
    return [(fields, target.strip(), record)
            for record in records if record.get("task") == "qa"
            for fields, target, _ in split_records([record], qa)
            if target.strip() and target.strip() != NONE_ANSWER]


def random_span(context: str, gold: str, rng: random.Random, tries: int = 20) -> Optional[str]:
    """A span of ``context`` of the gold's word count (whole words, as they stand) that neither
    holds ``gold`` nor is held by it; None if none is found in ``tries`` draws."""
    words = context.split()
    n = max(1, min(len(gold.split()), len(words)))
    low = gold.lower()
    for _ in range(tries):
        if len(words) < n:
            return None
        start = rng.randrange(len(words) - n + 1)
        span = " ".join(words[start:start + n]).strip(" ,.;:!?")
        if span and low not in span.lower() and span.lower() not in low and span in context:
            return span
    return None


def answer_checks(records: Iterable[dict], seed: int) -> Iterator[dict]:
    """The ``answer_check`` instances of ``records``' qa instances, in their order."""
    task = catalog.get_task(TASK)
    rng = random.Random(seed)
    items = _qa_items(records)
    answers_of: dict[str, list[str]] = defaultdict(list)  # the gold spans asked of each context
    for fields, gold, _ in items:
        answers_of[fields["context"]].append(gold)
    for fields, gold, record in items:
        context = fields["context"]
        siblings = [a for a in answers_of[context]
                    if a.lower() not in gold.lower() and gold.lower() not in a.lower()]
        negative = rng.choice(siblings) if siblings else random_span(context, gold, rng)
        pairs = [(gold, True)] + ([(negative, False)] if negative else [])
        for answer, yes in pairs:
            shown = catalog.normalize_fields(task, {"question": fields["question"], "context": context,
                                                    "answer": answer})
            yield {"task": TASK, "dataset": record.get("dataset"), "lang": record.get("lang", "en"),
                   "atomic": True, "messages": catalog.build_messages(task, shown,
                                                                       answer=catalog.format_answer(task, yes))}


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.train.corpus_file import read_corpus

    p = argparse.ArgumentParser(prog="python -m ecomlm.train.data.answer_checks", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a corpus split with qa instances")
    p.add_argument("--out", required=True, help="the answer_check corpus file to write")
    p.add_argument("--seed", type=int, default=2720)
    args = p.parse_args(argv)
    rows = list(answer_checks(read_corpus(args.data), args.seed))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = f"{args.out}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    os.replace(tmp, args.out)
    yes = sum(r["messages"][-1]["content"] == "Yes" for r in rows)
    print(f"{len(rows)} answer_check instances ({yes} Yes, {len(rows) - yes} No) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
