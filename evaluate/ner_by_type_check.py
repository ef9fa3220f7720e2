"""Would NER do better asked one type at a time? NER answered as the union of the catalog's
``extract_type`` task over the item's types, against NER's own answers on the same items.

    python -m ecomlm.evaluate.consensus_check --data corpus/val.jsonl --task ner --model default \\
        --lang en --counts 1,8 --limit 200 --threads 1 --save runs/val/written-default.jsonl
    python -m ecomlm.evaluate.ner_by_type_check --load runs/val/written-default.jsonl --model default \\
        --lang en --threads 1

Reads the NER instances a ``consensus_check --save`` file holds (their fields, 8 written answers
and target), asks ``extract_type`` once per type of each (greedy), labels each span with the type
asked and prints micro-F1 over (type, text) pairs for: NER's greedy answer, NER's vote (the task's
``k`` of the saved answers), the per-type union alone, the vote united with it, and the union
counted as one more answer in the vote (same ``k``). Measured on 2026-12-06 and not adopted
(evaluate/finetuned/reading/).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Optional, Sequence

from ecomlm.runtime import catalog

from .consensus_check import _loaded
from .metrics import micro_f1


def union_answer(per_type: dict[str, list[str]]) -> str:
    """The per-type spans as one NER answer (``Type: span`` lines, each pair once; ``None`` if empty)."""
    lines = list(dict.fromkeys(f"{t}: {s}" for t, spans in per_type.items() for s in spans))
    return "\n".join(lines) or "None"


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.runtime import EcomModel
    from tqdm import tqdm

    p = argparse.ArgumentParser(prog="python -m ecomlm.evaluate.ner_by_type_check",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--load", type=Path, required=True, help="a consensus_check --save file with NER answers")
    p.add_argument("--model", default="default")
    p.add_argument("--lang", default="en")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    task = catalog.get_task("ner")
    kind = task.kind
    recs = [{"fields": fields, "written": texts, "target": target}
            for _, _, written, _ in _loaded([args.load], [task], args.lang) for fields, texts, target in written]
    if not recs:
        raise SystemExit(f"{args.load} holds no {args.lang} NER instances")
    n = len(recs[0]["written"])
    k = kind.votes_needed(n)
    model = EcomModel.load(args.model, **({"n_threads": args.threads} if args.threads else {}))
    unions: list[str] = []
    t0 = time.perf_counter()
    try:
        for r in tqdm(recs, desc="extract_type per type", unit="item"):
            per_type = {t: [s.text for s in model.run("extract_type", text=r["fields"]["text"], type=t,
                                                       consensus_of=1).spans]
                        for t in r["fields"]["types"]}
            unions.append(union_answer(per_type))
    finally:
        model.close()
    seconds = (time.perf_counter() - t0) / len(recs)
    pairs = lambda fields, raw: [(s.type, s.text) for s in kind.parse(task, raw, fields).spans]  # noqa: E731
    gold = [pairs(r["fields"], r["target"]) for r in recs]
    vote = [pairs(r["fields"], kind.voted_answer(task, r["written"], r["fields"], k)) for r in recs]
    union = [pairs(r["fields"], u) for r, u in zip(recs, unions)]
    rows = [("NER greedy", [pairs(r["fields"], r["written"][0]) for r in recs]),
            (f"NER vote, {k} of {n}", vote),
            ("extract_type per type, union", union),
            ("vote united with the per-type union", [list(dict.fromkeys(v + u)) for v, u in zip(vote, union)]),
            (f"vote, {k} of {n + 1} with the union as one more answer",
             [pairs(r["fields"], kind.voted_answer(task, [*r["written"], u], r["fields"], k))
              for r, u in zip(recs, unions)])]
    print(f"{len(recs)} {args.lang} NER instances of {args.load}; extract_type: {seconds:.2f} s/item\n\n"
          "| answer | micro-F1 | spans / item |\n|---|---:|---:|")
    for name, pred in rows:
        print(f"| {name} | {micro_f1(pred, gold):.2f} | {sum(map(len, pred)) / len(pred):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
