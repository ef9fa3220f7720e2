"""How many questions each context of extractive QA is asked, in a corpus built by `ecomlm data build`
(`--questions-per-context N` asks one context several): the `qa` instances, their distinct contexts,
and how many contexts are asked 1, 2, 3... questions.

    python scripts/qa_contexts.py corpus/train_en.jsonl [more.jsonl ...]

The context is what follows "Context: " in the user turn, the question the "Question: " line.
"""
from __future__ import annotations

import sys
from collections import Counter

from ecomlm.runtime.jsonl import read_jsonl


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in argv:
        questions: dict[str, set[str]] = {}
        n = 0
        for r in read_jsonl(path):
            if r["task"] != "qa":
                continue
            user = r["messages"][-2]["content"]
            question = user.split("Question: ", 1)[1].split("\n", 1)[0]
            questions.setdefault(user.split("Context: ", 1)[1], set()).add(question)
            n += 1
        asked = Counter(len(q) for q in questions.values())
        print(f"{path}: {n:,} qa instances, {len(questions):,} contexts; questions a context: "
              + ", ".join(f"{k}: {asked[k]:,}" for k in sorted(asked)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
