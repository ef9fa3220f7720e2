"""Would re-ranking QA answers (PMI, ``question_pmi.py``; a Yes/No check, ``answer_verify.py``)
raise validation Rouge-L?

    python -m ecomlm.evaluate.qa_rerank_check --data corpus/val_en.jsonl [--model default] \\
        [--limit 200] [--answers 8] [--alpha 1 --alpha 0.5] [--threads 1] [--save FILE]
    python -m ecomlm.evaluate.qa_rerank_check --data corpus/val_en.jsonl --rescore FILE [--alpha ...] \\
        [--verify OUT]

Reads the ``qa`` instances of a corpus split as ``extraction_check`` does. For each, the model writes
``--answers`` answers as a call with that ``consensus_of`` does (the first by the task's beam search
on ``default``, then seeded samples, all copied from the context); their distinct copied spans are
scored with the question and with ``CONTENT_FREE_QUESTION`` in its place, and each ``--alpha`` keeps
the candidate of the highest ``log P(a | q, c) - alpha * log P(a | c)``. A "None" first answer stays
"None" (the re-rank never chooses "None"). Prints Rouge-L of the first answer (what the model answers
today) and of each re-rank, on the same written answers; ``--save`` keeps every item's candidates and
log-probabilities (JSON lines); ``--rescore FILE`` scores such a file again (other alphas) without
loading a model, with the same split and limit, and adds the best candidate of each item (an upper
bound for any re-rank of these candidates). ``--verify OUT`` (with ``--rescore``) loads the model,
scores each saved candidate with ``answer_verify.yes_probabilities`` of ``--verify-task``, writes
the rows with those scores to OUT (a file ``--rescore`` reads again) and adds the re-rank by P(Yes).
"""
from __future__ import annotations

import json
from itertools import islice
from typing import Any, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.constraints import NONE_ANSWER
from .answer_verify import VERIFY_TASKS, verified_choice, yes_probabilities
from .extraction_check import instances
from .metrics import mean_rouge_l, rouge_l
from .question_pmi import CONTENT_FREE_QUESTION, pmi_choice
from .split_reading import split_check_model, split_check_parser

_SEP = ", "


def candidates(written: Sequence[str]) -> list[str]:
    """The distinct answers in the order written, "None" left out."""
    out: list[str] = []
    for text in written:
        if text and text != NONE_ANSWER and text not in out:
            out.append(text)
    return out


def scored(text: str, fields: dict[str, Any], task: catalog.Task) -> str:
    """The answer text ``ecomlm eval`` scores for a written answer."""
    return task.kind.scored(catalog.parse_answer(task, text, fields), _SEP)[1]


def _check_saved(rows: Sequence[dict[str, Any]], items: Sequence[Any]) -> None:
    """Refuse saved rows that are not one per item of the split as read."""
    if len(rows) != len(items):
        raise SystemExit(f"{len(rows)} saved rows for {len(items)} items: use the split and --limit "
                         f"the file was written with")


def first(row: dict[str, Any]) -> str:
    """A row's first written answer: what the model answers today."""
    return row["written"][0] if row["written"] else NONE_ANSWER


def pick(row: dict[str, Any], alpha: float) -> str:
    """The answer a saved row gives under the re-rank of ``alpha`` (its first where not re-ranked)."""
    if "with_question" not in row:
        return first(row)
    return row["candidates"][pmi_choice(row["with_question"], row["without_question"], alpha)]


def written_rows(model: Any, task: catalog.Task, items: Sequence[tuple[dict[str, Any], Any, str]],
                 n_answers: int, save: Optional[str]) -> list[dict[str, Any]]:
    """Each item's written answers, candidates and their two log-probabilities (``--save``: also
    written to that file, a line per item as it comes)."""
    from tqdm import tqdm

    rows = []
    saved = open(save, "w", encoding="utf-8") if save else None
    try:
        for fields, gold, _lang in tqdm(items, desc="qa", unit="item"):
            written = list(model.run("qa", consensus_of=n_answers, **fields).written or [])
            cands = candidates(written)
            row: dict[str, Any] = {"written": written, "gold": gold[1], "candidates": cands}
            if first(row) != NONE_ANSWER and len(cands) > 1:
                backend = model.backend_for(task, fields)
                free = dict(fields, question=CONTENT_FREE_QUESTION)
                row["with_question"] = backend.option_logprobs(model.prompt_for(task, fields), cands)
                row["without_question"] = backend.option_logprobs(model.prompt_for(task, free), cands)
            rows.append(row)
            if saved:
                saved.write(json.dumps(row, ensure_ascii=False) + "\n")
                saved.flush()
    finally:
        if saved:
            saved.close()
    return rows


def verified_rows(args: Any, items: Sequence[tuple[dict[str, Any], Any, str]],
                  rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with each re-ranked row's candidates scored by ``yes_probabilities`` (key
    ``answerable``), written to ``args.verify`` (a temporary file, then renamed)."""
    import os

    from tqdm import tqdm

    _check_saved(rows, items)
    model = split_check_model(args)
    try:
        for row, (fields, _, _) in tqdm(list(zip(rows, items)), desc="verify", unit="item"):
            if "with_question" in row:  # the rows the re-rank chooses in
                row["answerable"] = yes_probabilities(model, args.verify_task, fields["question"],
                                                      fields["context"], row["candidates"])
    finally:
        model.close()
    tmp = f"{args.verify}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    os.replace(tmp, args.verify)
    return rows


def table(task: catalog.Task, items: Sequence[tuple[dict[str, Any], Any, str]], rows: Sequence[dict[str, Any]],
          alphas: Sequence[float], best: bool) -> str:
    """Rouge-L of the first answers, of each re-rank and (``best``) of the best candidate, as a table."""
    _check_saved(rows, items)
    golds = [gold[1] for _, gold, _ in items]
    n = len(golds)

    def rouge(texts: Sequence[str]) -> float:
        return mean_rouge_l([scored(t, f, task) for t, (f, _, _) in zip(texts, items)], golds, "en")

    lines = ["| answer | n | Rouge-L |", "|---|---:|---:|",
             f"| first (the model's answer today) | {n} | {rouge([first(r) for r in rows]):.2f} |"]
    lines += [f"| PMI re-rank, alpha {a:g} | {n} | {rouge([pick(r, a) for r in rows]):.2f} |" for a in alphas]
    if any("answerable" in r for r in rows):
        checked = [r["candidates"][verified_choice(r["answerable"])] if "answerable" in r else first(r)
                   for r in rows]
        lines.append(f"| the candidate the Yes/No check finds likeliest to answer | {n} | {rouge(checked):.2f} |")
    if best:
        best_texts = []
        for r, (fields, gold, _) in zip(rows, items):
            options = [first(r), *r["candidates"]]
            best_texts.append(max(options, key=lambda t: rouge_l(scored(t, fields, task), gold[1], "en")))
        lines.append(f"| best candidate of each item (upper bound of a re-rank) | {n} | {rouge(best_texts):.2f} |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.train.corpus_file import read_corpus

    p = split_check_parser("python -m ecomlm.evaluate.qa_rerank_check", __doc__.split("\n\n")[0],
                           None, limit=200)  # qa only: no --task
    p.add_argument("--answers", type=int, default=8, help="answers written per item (default 8)")
    p.add_argument("--alpha", type=float, action="append", default=None,
                   help="weight of the question-free log-probability (repeat; default 1)")
    p.add_argument("--save", default=None, help="write each item's candidates and scores here (JSON lines)")
    p.add_argument("--rescore", default=None, metavar="FILE",
                   help="score a --save file again instead of decoding (same --data and --limit)")
    p.add_argument("--verify", default=None, metavar="OUT",
                   help="with --rescore: score each candidate with --verify-task, write the rows to OUT")
    p.add_argument("--verify-task", default="answerability", choices=VERIFY_TASKS,
                   help="the Yes/No task that scores the candidates (default answerability, zero-shot)")
    args = p.parse_args(argv)
    alphas = args.alpha or [1.0]
    task = catalog.get_task("qa")
    items = list(islice(instances(read_corpus(args.data), task, args.lang or "en"), args.limit))
    if args.rescore:
        with open(args.rescore, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if args.verify:
            rows = verified_rows(args, items, rows)
        print(table(task, items, rows, alphas, best=True))
        return 0
    if args.verify:
        raise SystemExit("--verify scores the candidates of a --rescore file: give --rescore FILE")
    model = split_check_model(args)
    try:
        rows = written_rows(model, task, items, args.answers, args.save)
    finally:
        model.close()
    print(table(task, items, rows, alphas, best=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
