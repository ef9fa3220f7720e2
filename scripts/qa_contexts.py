"""How many questions each context of extractive QA is asked, in a corpus built by `ecomlm data build`
(`--questions-per-context N` asks one context several): the `qa` instances, their distinct contexts,
and how many contexts are asked 1, 2, 3... questions.

    python scripts/qa_contexts.py corpus/train_en.jsonl [more.jsonl ...]

Each instance's question and context are read back from its user turn as the validation checks
read them (``evaluate.split_reading.split_records``).
"""
from __future__ import annotations

import sys
from collections import Counter

from ecomlm.evaluate.split_reading import split_records
from ecomlm.runtime import catalog
from ecomlm.runtime.jsonl import read_jsonl


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    qa = catalog.get_task("qa")
    for path in argv:
        questions: dict[str, set[str]] = {}
        n = 0
        for fields, _, _ in split_records(read_jsonl(path), qa):
            questions.setdefault(fields["context"], set()).add(fields["question"])
            n += 1
        asked = Counter(len(q) for q in questions.values())
        print(f"{path}: {n:,} qa instances, {len(questions):,} contexts; questions a context: "
              + ", ".join(f"{k}: {asked[k]:,}" for k in sorted(asked)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
