"""Compare the answers of two `ecomlm eval` runs item by item (same task and index): how many are
identical (raw output and parsed answer), and the first differences. Used to check that a refactor
changed no answer of the shipped model, and to count the answers an export changes (the two runs
may name different models: one run's files hold one model each).

    python scripts/compare_predictions.py OLD/predictions.jsonl [...] -- NEW/predictions.jsonl [...]
"""
from __future__ import annotations

import sys

from ecomlm.runtime.jsonl import read_jsonl


def load(paths: list[str]) -> dict:
    """The answers of ``paths`` by (task, index); a second model's answer to the same item is refused."""
    out: dict = {}
    for p in paths:
        for r in read_jsonl(p):
            key = (r["task"], r["index"])
            if key in out and out[key]["model"] != r["model"]:
                raise SystemExit(f"{p}: {key} answered by two models ({out[key]['model']}, {r['model']}): "
                                 f"give each model's files on its own side of --")
            out[key] = r
    return out


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cut = argv.index("--")
    old, new = load(argv[:cut]), load(argv[cut + 1:])
    shared = sorted(set(old) & set(new))
    diffs = [k for k in shared if (old[k]["raw"], old[k]["pred"]) != (new[k]["raw"], new[k]["pred"])]
    print(f"{len(shared)} items in both runs: {len(shared) - len(diffs)} identical, {len(diffs)} different")
    for k in diffs[:5]:
        print(f"  {k}: {old[k]['raw']!r} -> {new[k]['raw']!r}")
    return 1 if diffs or not shared else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
