"""How well does a model extract spans on the validation split? Micro-F1 per task and language.

    python -m ecomlm.evaluate.extraction_check --data corpus/val.jsonl --task attribute_extraction \\
        [--task ner] [--model multilingual] [--lang zh] [--limit 200] [--threads 1] [--no-specialists] \\
        [--beams 1 --beams 4]

The held-out EcomGPT tasks of ../shared are for measuring, not for choosing; this reads the
validation split that ``ecomlm data build`` writes (never trained on), recovers each instance's
fields from its user message as ``calibration_check`` does, parses its target through the
catalog's own answer parser, and scores the model's greedy answer as ``ecomlm eval`` scores a
span task (micro-F1 over (type, span) pairs; untyped tasks over spans; Rouge-L of the answer text,
the one metric of extractive QA), with the number of predicted and gold items, so that a candidate
adapter can be chosen before any held-out run.
"""
from __future__ import annotations

from itertools import islice
from typing import Any, Iterable, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError

from .split_reading import by_language, split_check_model, split_check_parser, split_records
from .metrics import mean_rouge_l, micro_f1

#: the separator the scored text joins items with (not part of the score)
_SEP = ", "


def instances(records: Iterable[dict], task: catalog.Task,
              lang: Optional[str]) -> Iterable[tuple[dict[str, Any], tuple[list, str], str]]:
    """(normalized fields, gold (items, text) as ``kind.scored`` gives them, language) of
    ``task``'s instances in a corpus split."""
    for fields, target, language in split_records(records, task, lang):
        try:
            fields = catalog.normalize_fields(task, fields)
            gold = task.kind.scored(catalog.parse_answer(task, target, fields), _SEP)
        except InvalidInputError:  # a field that does not read back from its prompt line
            continue
        yield fields, gold, language


def main(argv: Optional[Sequence[str]] = None) -> int:
    from tqdm import tqdm

    from ecomlm.train.corpus_file import read_corpus

    p = split_check_parser("python -m ecomlm.evaluate.extraction_check", __doc__.split("\n\n")[0],
                           "a span task: ner, span_detection, attribute_extraction, ... (repeat)", limit=200)
    p.add_argument("--beams", type=int, action="append", default=None, metavar="N",
                   help="the width of the beam search that finds each answer (repeat to compare several "
                        "in one run; default: each task's setting; 1: greedy)")
    args = p.parse_args(argv)
    tasks = [catalog.get_task(name) for name in args.tasks]
    for task in tasks:
        if task.kind.free_text or task.kind.calibrates:
            raise SystemExit(f"{task.name} is not a span task (labels: calibration_check; "
                             f"free text: repeat_check)")
    model = split_check_model(args)
    widths = args.beams or [None]
    print("| task | lang | beams | n | micro-F1 | Rouge-L | predicted items | gold items |\n"
          "|---|---|---|---:|---:|---:|---:|---:|")
    for task in tasks:
        every = islice(instances(read_corpus(args.data), task, args.lang), args.limit)
        for lang, items in by_language(every):
            preds: dict = {w: [] for w in widths}
            for fields, _ in tqdm(items, desc=f"{task.name} {lang}", unit="item"):
                for w in widths:  # the widths item by item: the prompt's cache serves them all
                    preds[w].append(task.kind.scored(model.run(task.name, beams=w, **fields), _SEP))
            golds = [g for _, g in items]
            for w in widths:
                # extractive QA answers one span: Rouge-L only, as ``ecomlm eval`` scores it
                f1 = f"{micro_f1([p[0] for p in preds[w]], [g[0] for g in golds]):.2f}" \
                    if "micro_f1" in task.kind.metrics else "–"
                rouge = mean_rouge_l([p[1] for p in preds[w]], [g[1] for g in golds], lang)
                # the width the calls used: without --beams, the model's own for the task (default: qa 4)
                print(f"| {task.name} | {lang} | {model._beams(task, w)} | {len(items)} | {f1} | {rouge:.2f} | "
                      f"{sum(len(set(p[0])) for p in preds[w])} | {sum(len(set(g[0])) for g in golds)} |",
                      flush=True)
    model.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
