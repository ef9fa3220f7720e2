"""Input lengths of one task's instances in a corpus built by `ecomlm data build`: word percentiles of
the input text, and per bucket of input words the instances and the answer lines (entities) each.

    python scripts/corpus_lengths.py corpus/train_en.jsonl [--task ner] [--edges 19,39,79]

The input text is what follows "Text: " in the user turn (the entity tasks' source field).
"""
from __future__ import annotations

import sys

from ecomlm.runtime.jsonl import read_jsonl
from spans_by_length import buckets  # this folder is on sys.path when run as a script


def main(argv: list[str]) -> int:
    opts = {"--task": "ner", "--edges": "19,39,79"}
    for key in opts:
        if key in argv:
            at = argv.index(key)
            opts[key] = argv[at + 1]
            argv = argv[:at] + argv[at + 2:]
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rows = []
    for r in read_jsonl(argv[0]):
        if r["task"] != opts["--task"]:
            continue
        user, answer = r["messages"][-2]["content"], r["messages"][-1]["content"].strip()
        rows.append((len(user.split("Text: ", 1)[-1].split()), 0 if answer == "None" else len(answer.splitlines())))
    if not rows:
        print(f"no {opts['--task']} instances in {argv[0]}", file=sys.stderr)
        return 1
    words = sorted(w for w, _ in rows)
    print(f"{len(rows)} {opts['--task']} instances; input words p50 / p75 / p90 / p95: "
          + " / ".join(str(words[int(q * len(words))]) for q in (0.5, 0.75, 0.9, 0.95)))
    print("| input words | instances | answer lines / instance |")
    print("|---|---|---|")
    for lo, hi, name in buckets([int(x) for x in opts["--edges"].split(",")]):
        inside = [n for w, n in rows if lo <= w <= hi]
        if inside:
            print(f"| {name} | {len(inside)} | {sum(inside) / len(inside):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
