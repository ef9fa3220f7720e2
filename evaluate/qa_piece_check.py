"""Would extractive QA over a long context do better reading only its most relevant piece?

    python -m ecomlm.evaluate.qa_piece_check --data corpus/val.jsonl --model default --threads 1

Takes the validation split's English ``qa`` instances that have an answer and a context of more
than ``--words`` words; cuts each context into sentence-aligned pieces of at most ``--words`` words
(``runtime/chunking.source_chunks``, as NER reads long inputs); scores each piece with the catalog's
``evidence_relevance`` task (log P(first option) - log P(second), its yes and no); and answers
``qa`` (greedy, an answer required, as the held-out Reddit QA mapping asks) from the whole context,
from the best piece, and from the best piece with the next one. Prints Rouge-L of each and how
often the best piece holds the gold answer. Measured on 2026-12-06 and not adopted
(evaluate/finetuned/reading/).
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.chunking import source_chunks

from .metrics import rouge_l
from .split_reading import split_records


def relevance(model, question: str, piece: str) -> float:  # noqa: ANN001 (an EcomModel)
    """How much more probable the evidence-relevance task finds its yes than its no for ``piece``."""
    task = catalog.get_task("evidence_relevance")
    fields = catalog.normalize_fields(task, {"question": question, "context": piece})
    yes, no = model.backend_for(task, fields).option_logprobs(model.prompt_for(task, fields),
                                                               catalog.options_of(task, fields))
    return float(yes - no)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ecomlm.runtime import EcomModel
    from ecomlm.train.corpus_file import read_corpus
    from tqdm import tqdm

    p = argparse.ArgumentParser(prog="python -m ecomlm.evaluate.qa_piece_check",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a corpus split (val.jsonl from `ecomlm data build`)")
    p.add_argument("--model", default="default")
    p.add_argument("--words", type=int, default=40, help="piece size, and the context length read in pieces")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    qa = catalog.get_task("qa")
    items = [(f, target) for f, target, _ in split_records(read_corpus(args.data), qa, "en")
             if target != "None" and len(f["context"].split()) > args.words]
    if not items:
        raise SystemExit(f"{args.data}: no English qa instance with an answer and over {args.words} words")
    model = EcomModel.load(args.model, **({"n_threads": args.threads} if args.threads else {}))
    answers: dict[str, list[str]] = {"whole context": [], "best piece": [], "best piece and the next": []}
    held = 0
    try:
        for fields, target in tqdm(items, desc="qa", unit="item"):
            q, ctx = fields["question"], fields["context"]
            pieces = source_chunks(ctx, args.words)
            best = max(range(len(pieces)), key=lambda i: relevance(model, q, ctx[slice(*pieces[i])]))
            held += target in ctx[slice(*pieces[best])]
            nxt = pieces[min(best + 1, len(pieces) - 1)]
            for name, context in (("whole context", ctx), ("best piece", ctx[slice(*pieces[best])]),
                                  ("best piece and the next", ctx[pieces[best][0]:nxt[1]])):
                answers[name].append(model.run("qa", question=q, context=context, allow_none=False).raw)
    finally:
        model.close()
    print(f"{len(items)} English qa instances with an answer and over {args.words} words; the best piece "
          f"holds the gold answer in {held}\n\n| context read | Rouge-L |\n|---|---:|")
    for name, got in answers.items():
        score = 100 * sum(rouge_l(a, t, "en") for a, (_, t) in zip(got, items)) / len(items)
        print(f"| {name} | {score:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
