"""Downstream generators: instances of each dataset's own tasks, straight from its labels.

NER from entity annotations, classification from labels (shuffled label sets of varying size, with
distractors; multi-label sets sometimes without any gold label), extractive QA (often with long
contexts of several reviews), free answers, evidence relevance, subjectivity, summaries, ad copy.
"""
from __future__ import annotations

import random
from typing import Callable, Iterator

from .atomic import from_entities
from .pools import Pools
from .records import Draft, Record
from .sampling import LONG_CONTEXT_SHARE, P_NONE, label_set, long_context


def ner(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    for draft in from_entities(r.data["text"], r.data["entities"], rng):
        if draft.task == "ner":
            yield draft


def labels(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    for key, (gold, space, multi) in r.data["labels"].items():
        task = key.split("@")[0]
        if multi:
            keep = rng.random() > P_NONE
            options = label_set(gold, space, rng, 3, 10, keep_gold=keep)
            yield Draft(task, {"text": r.data["text"], "labels": options}, [x for x in options if x in gold])
        else:
            hi = 2 if len(space) <= 3 and rng.random() < 0.5 else 8
            yield Draft(task, {"text": r.data["text"], "labels": label_set(gold, space, rng, 2, hi)}, gold[0])


def qa(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    context = d["context"]
    if d.get("pool") and rng.random() < LONG_CONTEXT_SHARE:
        context = long_context(context, d["pool"], rng)
    yield Draft("qa", {"question": d["question"], "context": context}, d["answer"])
    options = ["subjective", "objective"]
    rng.shuffle(options)
    yield Draft("subjectivity", {"text": d["question"], "labels": options},
                "subjective" if d["subjective"] else "objective")


def relevance(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    yield Draft("evidence_relevance", {"question": d["question"], "context": d["context"]}, d["relevant"])
    if d.get("answer"):
        yield Draft("answer_question", {"question": d["question"], "context": d["context"]}, d["answer"])


def summary(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    yield Draft("summarize", {"reviews": r.data["reviews"]}, r.data["summary"])


def specs(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    yield Draft("ad_copy", {"specs": r.data["specs"]}, r.data["copy"])


GENERATORS: dict[str, Callable[[Record, Pools, random.Random], Iterator[Draft]]] = {
    "ner": ner,
    "label": labels,
    "qa": qa,
    "relevance": relevance,
    "summary": summary,
    "specs": specs,
}


def generate(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    gen = GENERATORS.get(r.kind)
    if gen is not None:
        yield from gen(r, pools, rng)
