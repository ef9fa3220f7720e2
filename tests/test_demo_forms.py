"""The demo's form conversions and examples (no model, no browser)."""
from __future__ import annotations

import pytest

from ecomlm.demo import forms
from ecomlm.demo.app import TABS
from ecomlm.demo.examples import EXAMPLES, examples_for
from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, Span, SpansResult


def test_every_task_has_valid_examples():
    assert set(EXAMPLES) == set(catalog.TASKS)
    for name in catalog.TASKS:
        task = catalog.get_task(name)
        for example in examples_for(name):
            catalog.normalize_fields(task, example)  # raises if an example is not a valid input


def test_form_round_trip_of_every_example():
    for name, examples in EXAMPLES.items():
        task = catalog.get_task(name)
        for example in examples:
            form = forms.form_from_fields(example)
            assert all(isinstance(v, str) for v in form.values())
            back = forms.fields_from_form(task, form)
            assert catalog.normalize_fields(task, back) == catalog.normalize_fields(task, example)


def test_every_task_is_in_exactly_one_tab():
    shown = [t.name for spec in TABS for t in spec.tasks()]
    assert sorted(shown) == sorted(catalog.TASKS)
    for spec in TABS:
        assert spec.first_task in {t.name for t in spec.tasks()}


def test_blank_required_field_is_named_by_the_runtime():
    task = catalog.get_task("sentiment")
    fields = forms.fields_from_form(task, {"text": "  ", "labels": "positive, negative",
                                           "query": "ignored: not a field of this task"})
    assert "query" not in fields
    with pytest.raises(InvalidInputError, match="'text'"):
        catalog.normalize_fields(task, fields)


def test_parse_specs_accepts_lines_pairs_and_json():
    assert forms.parse_specs("brand: Anker\ncapacity: 20000mAh") == {"brand": "Anker", "capacity": "20000mAh"}
    assert forms.parse_specs("brand=Anker; color = black") == {"brand": "Anker", "color": "black"}
    assert forms.parse_specs('{"size": 10}') == {"size": "10"}
    with pytest.raises(InvalidInputError, match="not 'attribute: value'"):
        forms.parse_specs("just words")
    with pytest.raises(InvalidInputError, match="JSON"):
        forms.parse_specs("{broken")


def test_parse_specs_splits_at_the_first_separator_and_keeps_every_value_of_a_repeated_attribute():
    # a value may hold another separator; Chinese input often has the full-width colon
    assert forms.parse_specs("屏幕比例=16:9; 品牌：华为; time: 10:30") == \
        {"屏幕比例": "16:9", "品牌": "华为", "time": "10:30"}
    # a catalog's attribute block repeats an attribute for each of its values
    assert forms.parse_specs("适用场景: 家庭影音; 适用场景: 商务办公; 适用场景: 家庭影音") == \
        {"适用场景": "家庭影音, 商务办公"}
    with pytest.raises(InvalidInputError, match="not 'attribute: value'"):
        forms.parse_specs(": no attribute")


def test_results_render_as_people_read_them():
    text = "Anker power bank, 20000mAh, black"
    spans = SpansResult(task="attribute_extraction", raw="brand: Anker\ncolor: black",
                        spans=[Span("Anker", 0, 5, "brand"), Span("black", 28, 33, "color")])
    view = forms.highlighted(spans, {"text": text, "attributes": ["brand", "color"]})
    assert view["text"] == text
    assert [(e["entity"], text[e["start"]:e["end"]]) for e in view["entities"]] == \
        [("brand", "Anker"), ("color", "black")]
    assert forms.table(spans) == [["brand", "Anker", 0, 5], ["color", "black", 28, 33]]
    assert forms.table_headers(catalog.get_task("attribute_extraction"))[0] == "attribute"

    label = LabelResult(task="sentiment", raw="negative", labels=["negative"],
                        candidates=["positive", "negative", "neutral"])
    chips = forms.highlighted(label, {})
    assert [c for c in chips if c[1] == forms.ANSWER_TAG] == [("negative", forms.ANSWER_TAG)]
    assert [c[0] for c in chips if c[0].strip()] == ["positive", "negative", "neutral"]
    assert forms.answer_text(label) == "negative"

    match = MatchResult(task="query_match", raw="No", match=False)
    assert ("No", forms.ANSWER_TAG) in forms.highlighted(match, {})

    context = "It lasts about 30 hours."
    answer = AnswerResult(task="qa", raw="about 30 hours", span=Span("about 30 hours", 9, 23))
    view = forms.highlighted(answer, {"question": "How long?", "context": context})
    assert context[view["entities"][0]["start"]:view["entities"][0]["end"]] == "about 30 hours"
