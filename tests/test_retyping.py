"""Span retyping (runtime/retyping.py): after a typed-span task is decoded, each span's type is the
one its typing task scores highest; the spans themselves stay as decoded."""
from __future__ import annotations

import numpy as np
import pytest

from ecomlm.runtime import EcomModel, catalog
from ecomlm.runtime.results import Span, SpansResult
from ecomlm.runtime.retyping import retype_spans
from ecomlm.runtime.task import Retyping, Task

TEXT = "Lenovo ThinkPad X1 Carbon with a 14 inch touchscreen and Intel Core i7 processor"
TYPES = ["Brand", "Product", "Component", "Attribute"]


def _span(text: str, type_: str) -> Span:
    start = TEXT.index(text)
    return Span(text=text, start=start, end=start + len(text), type=type_)


@pytest.fixture(scope="module")
def tiny_model(tiny_dir):
    pytest.importorskip("torch")
    from ecomlm.runtime.backends.torch_backend import TorchBackend

    return EcomModel(TorchBackend(tiny_dir))


def test_each_span_takes_the_type_entity_typing_scores_highest(tiny_model):
    ner = catalog.get_task("ner")
    fields = catalog.normalize_fields(ner, {"text": TEXT, "types": TYPES})
    decoded = SpansResult(task="ner", raw="(decoded)", dropped=1,
                          spans=[_span("Lenovo", "Attribute"), _span("touchscreen", "Brand"),
                                 _span("Intel Core i7 processor", "Product")])
    got = retype_spans(tiny_model, ner, decoded, fields)
    typing = catalog.get_task("entity_typing")
    for before, after in zip(decoded.spans, got.spans):
        f = catalog.normalize_fields(typing, {"text": TEXT, "span": before.text, "types": TYPES})
        prompt = tiny_model.prompt_for(typing, f)
        assert f"Entity: {before.text}\n" in prompt
        scores = tiny_model.backend.option_logprobs(prompt, TYPES)
        assert after.type == TYPES[int(np.argmax(scores))]
        assert (after.text, after.start, after.end) == (before.text, before.start, before.end)
    assert (got.raw, got.dropped, got.task) == (decoded.raw, decoded.dropped, decoded.task)


def test_a_span_given_twice_with_two_types_is_kept_once(tiny_model):
    ner = catalog.get_task("ner")
    fields = catalog.normalize_fields(ner, {"text": TEXT, "types": TYPES})
    twice = SpansResult(task="ner", raw="", spans=[_span("ThinkPad X1 Carbon", "Product"),
                                                   _span("ThinkPad X1 Carbon", "Brand")])
    got = retype_spans(tiny_model, ner, twice, fields)
    assert len(got.spans) == 1 and got.spans[0].type in TYPES


def test_run_retypes_only_when_asked_and_never_changes_the_spans(base_model):
    """On the real model: NER with and without retyping returns the same spans at the same offsets;
    only types (from the item's type set) may differ."""
    plain = base_model.run("ner", text=TEXT, types=TYPES, retype=False)
    retyped = base_model.run("ner", text=TEXT, types=TYPES, retype=True)
    where = lambda r: sorted({(s.start, s.end) for s in r.spans})  # noqa: E731
    assert where(plain) == where(retyped)
    assert all(s.type in TYPES for s in retyped.spans)
    assert retyped.raw == plain.raw


def test_retyping_is_declared_only_on_typed_spans():
    with pytest.raises(ValueError, match="retype_with"):
        Task(name="x", family="entities", summary="", description="", commands=("c",),
             required=("text", "types"), output="spans", options_field="types", source_field="text",
             retype_with=Retyping("entity_typing", "span"))
    for t in catalog.list_tasks():
        if t.retype_with is not None:
            typing = catalog.get_task(t.retype_with.task)
            assert catalog.options_of(typing, {str(typing.options_field): ["a", "b"]}) == ["a", "b"]


def test_the_cli_retypes_only_with_retype(base_model, capsys):
    import json

    from ecomlm.cli.main import main

    args = ["run", "ner", "--model", "base", "--text", TEXT, "--types", ",".join(TYPES), "--json"]
    assert main([*args, "--retype"]) == 0
    assert json.loads(capsys.readouterr().out) == base_model.run("ner", text=TEXT, types=TYPES,
                                                                 retype=True).to_dict()
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == base_model.run("ner", text=TEXT, types=TYPES,
                                                                 retype=False).to_dict()
