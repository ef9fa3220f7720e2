"""``answer_check`` instances derived from a corpus's qa instances (``train/data/answer_checks.py``):
the gold span is a Yes; the negative is another question's answer on the same context where there
is one, else a span of the context of the gold's length that neither holds nor is held by the gold;
"None" answers give nothing; each instance renders through the catalog, so it reads back as the
task's fields (the prompt the runtime builds)."""
from __future__ import annotations

import random

from ecomlm.evaluate.split_reading import split_records
from ecomlm.runtime import catalog
from ecomlm.train.data.answer_checks import answer_checks, random_span


def _qa(question: str, context: str, answer: str) -> dict:
    task = catalog.get_task("qa")
    fields = catalog.normalize_fields(task, {"question": question, "context": context})
    return {"task": "qa", "dataset": "toy", "lang": "en",
            "messages": catalog.build_messages(task, fields, answer=answer)}


def _read(rows: list[dict]) -> list[tuple[str, str, str]]:
    task = catalog.get_task("answer_check")
    return [(f["question"], f["answer"], target) for f, target, _ in split_records(rows, task)]


CONTEXT = "Black aluminum case, 15 inch screen, weighs 2 kg, made in Taiwan."


def test_siblings_are_the_negatives_of_each_other():
    rows = list(answer_checks([_qa("What color is it?", CONTEXT, "Black"),
                               _qa("How heavy is it?", CONTEXT, "2 kg")], seed=0))
    assert _read(rows) == [("What color is it?", "Black", "Yes"), ("What color is it?", "2 kg", "No"),
                           ("How heavy is it?", "2 kg", "Yes"), ("How heavy is it?", "Black", "No")]
    assert {r["task"] for r in rows} == {"answer_check"} and {r["dataset"] for r in rows} == {"toy"}


def test_a_lone_question_gets_a_random_span_of_the_gold_length_and_none_answers_give_nothing():
    rows = list(answer_checks([_qa("Where is it made?", CONTEXT, "Taiwan"),
                               _qa("Does it float?", CONTEXT, "None")], seed=3))
    (yes, no) = _read(rows)
    assert yes == ("Where is it made?", "Taiwan", "Yes")
    question, span, target = no
    assert target == "No" and span in CONTEXT and len(span.split()) == 1 and "taiwan" not in span.lower()


def test_a_random_span_never_overlaps_the_gold_by_containment():
    rng = random.Random(0)
    for _ in range(50):
        span = random_span(CONTEXT, "15 inch", rng)
        assert span is not None and span in CONTEXT and len(span.split()) == 2
        assert "15 inch" not in span and span not in "15 inch"
    assert random_span("Taiwan", "Taiwan", rng) is None  # the only span is the gold
