"""The task catalog: rendering, answer formats, parsers and validators (no model needed)."""
from __future__ import annotations

import random

import pytest

from ecomlm.runtime import catalog
from ecomlm.runtime.constraints import Choice, ChoiceLines, CopyLines, FreeLine, to_gbnf
from ecomlm.runtime.errors import InvalidInputError, UnknownTaskError
from ecomlm.runtime.kinds import KINDS
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, SpansResult, TextResult


def test_catalog_has_the_required_tasks():
    names = set(catalog.TASKS)
    for required in ("ner", "span_detection", "attribute_extraction", "classify", "sentiment",
                     "review_topic", "product_category", "aspect_sentiment", "query_match",
                     "same_product", "qa", "title_generation", "summarize"):
        assert required in names
    for task in catalog.list_tasks():
        assert task.commands and len(set(task.commands)) == len(task.commands)
        assert task.metric in ("micro_f1", "rouge_l")
        assert task.output in KINDS and task.kind is KINDS[task.output]
        if task.source_field:
            assert task.source_field in task.required


def test_unknown_task_lists_known_names():
    with pytest.raises(UnknownTaskError, match="known tasks: .*ner"):
        catalog.get_task("nerr")


@pytest.mark.parametrize("fields, message", [
    ({"text": "  ", "labels": ["a", "b"]}, "empty"),
    ({"text": "x", "labels": []}, "non-empty list"),
    ({"text": "x", "labels": ["a", "A"]}, "duplicates"),
    ({"text": "x"}, "needs the input 'labels'"),
    ({"text": "x", "labels": ["a"], "colour": "red"}, "does not take"),
])
def test_bad_fields_are_rejected_with_the_fix(fields, message):
    with pytest.raises(InvalidInputError, match=message):
        catalog.normalize_fields(catalog.get_task("classify"), fields)


def test_prompt_puts_shared_options_before_the_item():
    task = catalog.get_task("classify")
    a = catalog.render_user(task, catalog.normalize_fields(task, {"text": "first review", "labels": "good,bad"}))
    b = catalog.render_user(task, catalog.normalize_fields(task, {"text": "second", "labels": "good,bad"}))
    prefix = a[: len(a) - len("first review")]
    assert b.startswith(prefix) and a.endswith("Text: first review")
    assert "Candidate labels: good, bad" in prefix


def test_training_phrasings_differ_and_inference_uses_the_first():
    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": "Apple iPhone", "types": ["Brand"]})
    rendered = {catalog.render_user(task, fields, i) for i in range(len(task.commands))}
    assert len(rendered) == len(task.commands)
    system, user = catalog.build_messages(task, fields)
    assert system == {"role": "system", "content": task.description}
    assert user["role"] == "user" and user["content"].startswith(task.commands[0])


def test_format_then_parse_round_trips_every_output_kind():
    cases = {
        "ner": ({"text": "Lenovo ThinkPad X1, Intel Core i7", "types": ["Brand", "Product"]},
                [("Brand", "Lenovo"), ("Product", "ThinkPad X1")]),
        "span_detection": ({"text": "Lenovo ThinkPad X1", "types": ["Brand"]}, ["Lenovo"]),
        "classify": ({"text": "great", "labels": ["good", "bad"]}, "bad"),
        "multi_classify": ({"text": "t", "labels": ["a", "b", "c"]}, ["c", "a"]),
        "query_match": ({"query": "mouse", "product": "Logitech mouse"}, True),
        "qa": ({"question": "How long?", "context": "It lasts about 10 hours."}, "about 10 hours"),
        "title_generation": ({"specs": {"brand": "Anker"}}, "Anker power bank"),
        "which_of_two": ({"query": "q", "product_a": "a", "product_b": "b"}, "B"),
    }
    for name, (fields, gold) in cases.items():
        task = catalog.get_task(name)
        norm = catalog.normalize_fields(task, fields)
        result = catalog.gold_result(task, gold, norm)
        if isinstance(result, SpansResult):
            got = [(s.type, s.text) for s in result.spans] if task.output == "typed_spans" \
                else [s.text for s in result.spans]
            assert got == gold and result.dropped == 0
            for s in result.spans:
                assert norm[task.source_field][s.start:s.end] == s.text
        elif isinstance(result, LabelResult):
            assert result.labels == ([gold] if isinstance(gold, str) else gold)
        elif isinstance(result, MatchResult):
            assert result.match is gold
        elif isinstance(result, AnswerResult):
            assert result.answer == gold and result.span.start == 9
        elif isinstance(result, TextResult):
            assert result.text == gold


def test_empty_answers_format_as_none():
    assert catalog.format_answer(catalog.get_task("ner"), []) == "None"
    assert catalog.format_answer(catalog.get_task("qa"), None) == "None"
    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": "abc", "types": ["Brand"]})
    assert catalog.parse_answer(task, "None", fields).spans == []


def test_spans_not_in_the_input_are_dropped_and_counted():
    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": "Nike Air Zoom, black", "types": ["Brand", "Color"]})
    result = catalog.parse_answer(task, "Brand: Nike\nBrand: Adidas\nColour: black\nColor: BLACK", fields)
    assert [(s.type, s.text, s.start) for s in result.spans] == [("Brand", "Nike", 0), ("Color", "black", 15)]
    assert result.dropped == 2  # Adidas is not in the text; "Colour" is not a given type


def test_repeated_mentions_get_distinct_offsets():
    task = catalog.get_task("span_detection")
    fields = catalog.normalize_fields(task, {"text": "USB cable and USB hub", "types": ["Component"]})
    result = catalog.parse_answer(task, "USB\nUSB", fields)
    assert [(s.start, s.end) for s in result.spans] == [(0, 3), (14, 17)]


def test_chinese_spans_have_character_offsets():
    task = catalog.get_task("attribute_extraction")
    fields = catalog.normalize_fields(task, {"text": "HC圆领拼接连衣裙", "attributes": ["领型", "风格"]})
    result = catalog.parse_answer(task, "领型: 圆领\n风格: 拼接", fields)
    assert [(s.type, s.start, s.end) for s in result.spans] == [("领型", 2, 4), ("风格", 4, 6)]


def test_label_parser_never_returns_a_label_outside_the_set():
    rng = random.Random(0)
    task = catalog.get_task("classify")
    for _ in range(300):
        labels = rng.sample(["positive", "negative", "neutral", "Food", "Price", "食品", "mixed"], rng.randint(1, 5))
        fields = catalog.normalize_fields(task, {"text": "x", "labels": labels})
        raw = rng.choice(["BANANA", "positive!", "I think Food", "", "食品", "NEGATIVE"])
        result = catalog.parse_answer(task, raw, fields)
        assert set(result.labels) <= set(labels) and len(result.labels) <= 1


def test_constraints_follow_the_output_kind():
    def c(name, **fields):
        task = catalog.get_task(name)
        return catalog.constraint_for(task, catalog.normalize_fields(task, fields))
    assert c("classify", text="x", labels="a,b") == Choice(("a", "b"))
    assert c("query_match", query="q", product="p") == Choice(("Yes", "No"))
    assert c("multi_classify", text="x", labels="a,b") == ChoiceLines(("a", "b"))
    assert c("ner", text="x", types="Brand") == CopyLines("x", prefixes=("Brand",))
    assert c("aspect_extraction", text="x") == CopyLines("x")
    assert c("qa", question="q", context="c") == CopyLines("c", max_lines=1)
    task = catalog.get_task("qa")
    assert catalog.constraint_for(task, {"question": "q", "context": "c"}, allow_none=False) == \
        CopyLines("c", none=None, max_lines=1)
    assert c("title_generation", specs={"a": "b"}) == FreeLine()
    assert c("summarize", reviews=["good", "bad"]) is None


def test_gbnf_escapes_quotes_and_backslashes():
    grammar = to_gbnf(Choice(('say "hi"', "back\\slash", "新")))
    assert r'"say \"hi\""' in grammar and r'"back\\slash"' in grammar and '"新"' in grammar
