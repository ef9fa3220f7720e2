"""Span-task answers of `ecomlm eval` runs split by input length: per bucket of input words, items,
gold and predicted (type, text) pairs per item, recall and precision (the pairs the micro-F1 counts).
Shows where a model misses entities (e.g. long product descriptions).

    python scripts/spans_by_length.py HELDOUT_TASK_DIR RUN/predictions.jsonl [...] [--edges 40,80]

HELDOUT_TASK_DIR holds the task's test.json (e.g. ../shared/ecomgpt_heldout/Lenovo/tasks/EN-Lenovo-NER-NER);
its items' word counts place each prediction (same task, same index) in a bucket.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ecomlm.runtime.jsonl import read_jsonl


def buckets(edges: list[int]) -> list[tuple[int, float, str]]:
    """(low, high, name) of each bucket of word counts cut after each edge: 0-40, 41-80, 81+.
    Also scripts/corpus_lengths.py's."""
    lows = [0] + [e + 1 for e in edges]
    highs: list[float] = [*edges, float("inf")]
    return [(lo, hi, f"{lo}-{hi}" if hi != float("inf") else f"{lo}+") for lo, hi in zip(lows, highs)]


def main(argv: list[str]) -> int:
    edges = [40, 80]
    if "--edges" in argv:
        at = argv.index("--edges")
        edges = [int(x) for x in argv[at + 1].split(",")]
        argv = argv[:at] + argv[at + 2:]
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder = Path(argv[0])
    items = list(read_jsonl(folder / "test.json"))
    words = [len(str(it["sentences"]).split()) for it in items]
    for path in argv[1:]:
        rows = [r for r in read_jsonl(path) if r["task"] == folder.name]
        print(f"{path} ({folder.name})")
        print("| input words | items | gold / item | predicted / item | recall | precision |")
        print("|---|---|---|---|---|---|")
        for lo, hi, name in buckets(edges):
            n = gold = pred = hit = 0
            for r in rows:
                if lo <= words[r["index"]] <= hi:
                    g = {tuple(x) for x in r["gold"]["items"]}
                    p = {tuple(x) for x in r["pred"]["items"]}
                    n, gold, pred, hit = n + 1, gold + len(g), pred + len(p), hit + len(g & p)
            if n:
                print(f"| {name} | {n} | {gold / n:.1f} | {pred / n:.1f} | {100 * hit / max(gold, 1):.0f} % "
                      f"| {100 * hit / max(pred, 1):.0f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
