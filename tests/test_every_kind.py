"""Every output kind (``runtime/kinds``) on every backend: each kind's tasks run on llama.cpp, ONNX
Runtime and PyTorch, and each answer keeps its kind's promise: labels in the set, spans copied from
their source with offsets, yes/no answers, one-line titles. Without a model: whatever text a model
writes, what a kind parses keeps the part of its promise that does not need constrained decoding,
and every rendering of it works; a kind's own ``check`` (the load test's) refuses broken answers."""
from __future__ import annotations

import pytest

from ecomlm.runtime import catalog
from ecomlm.runtime.kinds import KINDS
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, SpansResult

FIELDS = {
    "text": "Lenovo ThinkPad X1 Carbon, 14 inch, black. The battery lasts ten hours but the fan is loud.",
    "types": ["Brand", "Product", "Attribute"],
    "labels": ["positive", "negative", "neutral"],
    "attributes": ["brand", "color", "screen size"],
    "candidates": ["Lenovo ThinkPad X1 Carbon laptop", "Apple iPad Air", "Sony WH-1000XM5 headphones"],
    "type": "Brand",
    "attribute": "color",
    "aspect": "battery",
    "span": "Lenovo",
    "value": "black",
    "query": "lightweight business laptop",
    "product": "Lenovo ThinkPad X1 Carbon 14 inch laptop",
    "product_a": "Lenovo ThinkPad X1 Carbon Gen 11, 14 inch",
    "product_b": "ThinkPad X1 Carbon (11th gen) 14in",
    "specs": {"brand": "Anker", "type": "power bank", "capacity": "20000mAh"},
    "question": "How long does the battery last?",
    "context": "I use it every day. The battery lasts ten hours and the screen is bright.",
    "reviews": ["Great sound, comfortable.", "Battery could be better.", "Worth the price."],
}
RAWS = ["None", "", "Brand: Lenovo\nAttribute: black", "Lenovo", "positive", "negative\npositive", "Yes",
        "No", "Lenovo ThinkPad X1 Carbon laptop", "A", "B", "The battery lasts ten hours", "foo: bar\nblack",
        " positive. ", "- Lenovo\n* black\nnope", "color: black", "no such thing\n\nat all"]


def tasks_of(kind) -> list[catalog.Task]:
    return [t for t in catalog.list_tasks() if t.kind is kind]


def test_every_task_has_a_registered_kind_and_every_kind_a_task():
    assert {t.output for t in catalog.list_tasks()} == set(KINDS)
    for name, kind in KINDS.items():
        assert kind.name == name and tasks_of(kind), name
        assert kind.metrics and set(kind.metrics) <= {"micro_f1", "macro_f1", "rouge_l"}


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_whatever_the_model_writes_a_kind_keeps_its_promise(kind_name):
    kind = KINDS[kind_name]
    for task in tasks_of(kind):
        fields = catalog.normalize_fields(task, {name: FIELDS[name] for name in task.required})
        for raw in RAWS:
            result = kind.parse(task, raw, fields)
            assert type(result) is kind.result_type
            check(task, fields, result, constrained=False)
            assert type(result).from_dict(result.to_dict()) == result
            assert isinstance(kind.render(result), str) and isinstance(kind.answer_text(result), str)
            assert kind.max_tokens(task, fields) > 0
            assert all(len(row) == 4 for row in kind.table(result))
            kind.highlight(task, result, fields)
            sep = "; "
            items, text = kind.scored(result, sep, ("match", "not match"))
            assert isinstance(text, str) and all(len(i) == 2 for i in items)


def test_a_kinds_check_refuses_broken_answers():
    def refused(name: str, result: dict) -> bool:
        task = catalog.get_task(name)
        fields = catalog.normalize_fields(task, {f: FIELDS[f] for f in task.required})
        return catalog.get_task(name).kind.check(task, fields, {"task": name, "raw": "", **result}) is not None
    assert refused("sentiment", {"labels": ["great"], "candidates": FIELDS["labels"]})
    assert refused("sentiment", {"labels": [], "candidates": FIELDS["labels"]})
    assert not refused("multi_classify", {"labels": [], "candidates": FIELDS["labels"]})
    assert refused("query_match", {"match": "Yes"})
    assert refused("ner", {"spans": [{"text": "Lenovo", "start": 1, "end": 7, "type": "Brand"}], "dropped": 0})
    assert refused("ner", {"spans": [{"text": "Lenovo", "start": 0, "end": 6, "type": "Maker"}], "dropped": 0})
    assert not refused("ner", {"spans": [{"text": "Lenovo", "start": 0, "end": 6, "type": "Brand"}], "dropped": 0})
    assert refused("qa", {"span": {"text": "ten", "start": 0, "end": 3, "type": None}, "dropped": 0})
    assert refused("title_generation", {"text": "two\nlines"})
    assert not refused("summarize", {"text": "two\nlines"})


def check(task: catalog.Task, fields: dict, result, constrained: bool = True) -> None:
    """The kind's promise, checked here on the result itself (not through the kind's own ``check``);
    ``constrained``: the answer was decoded under the kind's constraint, so it is also well-formed."""
    assert isinstance(result, task.kind.result_type), (task.name, result)
    options = catalog.options_of(task, fields)
    if isinstance(result, SpansResult):
        source = fields[task.source_field]
        for line in result.raw.split("\n") if constrained else ():  # every line is copied by construction
            value = line.split(": ", 1)[1] if task.output == "typed_spans" and line != "None" else line
            assert line == "None" or value in source, (task.name, result.raw)
        for span in result.spans:
            assert source[span.start:span.end] == span.text
            assert task.output == "spans" or span.type in options
    elif isinstance(result, LabelResult):
        assert all(lab in options for lab in result.labels), (task.name, result.raw)
        assert not constrained or result.labels or (task.output == "labels" and result.raw == "None"), \
            (task.name, result.raw)
        assert len(result.labels) <= 1 or task.output == "labels"
    elif isinstance(result, MatchResult):
        assert not constrained or result.raw in (catalog.YES, catalog.NO)
    elif isinstance(result, AnswerResult):
        if constrained:
            assert result.dropped == 0, (task.name, result)  # copied by construction: nothing to drop
        if result.span is None:  # only when the model chose the "None" answer
            assert not constrained or result.raw.strip() == "None", (task.name, result.raw)
        else:
            assert fields["context"][result.span.start:result.span.end] == result.span.text
    elif task.single_line and constrained:
        assert "\n" not in result.text


@pytest.fixture(scope="module", params=["llama.cpp", "torch", "onnxruntime"])
def model(request, tiny_dir, tmp_path_factory, base_gguf):
    from ecomlm.runtime import EcomModel

    if request.param == "llama.cpp":
        m = EcomModel.load("base", n_ctx=1024)
    elif request.param == "torch":
        m = EcomModel.load(tiny_dir, backend="torch")
    else:
        pytest.importorskip("onnxruntime")
        pytest.importorskip("optimum.exporters.onnx")
        from ecomlm.quantize.onnx_export import export_fp32
        out = tmp_path_factory.mktemp("onnx-kinds") / "fp32"
        export_fp32(tiny_dir, out)
        m = EcomModel.load(out, backend="onnxruntime")
    yield m
    m.close()


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_every_kind_runs_and_keeps_its_promise(model, kind_name):
    kind = KINDS[kind_name]
    for task in tasks_of(kind):
        fields = {name: FIELDS[name] for name in task.required}
        normalized = catalog.normalize_fields(task, fields)
        runs = [model.run(task.name, **fields)]
        if kind.copies_spans:
            runs.append(model.run(task.name, allow_none=False, **fields))
            assert runs[-1].raw.strip() != "None"
        if kind.calibrates and task.content_fields:
            runs.append(model.run(task.name, calibrate=True, **fields))
        if kind.consensus:  # sampled answers too, under the same constraint (the consensus of 3)
            runs.append(model.run(task.name, consensus_of=3, **fields))
            assert len(runs[-1].written) == 3
            for written in runs[-1].written:  # every answer written keeps the promise, not just the kept one
                each = kind.parse(task, written, normalized)
                check(task, normalized, each)
                assert kind.check(task, normalized, each.to_dict()) is None, (task.name, written)
            if kind.free_text:
                assert runs[-1].text in runs[-1].written
        for result in runs:
            check(task, normalized, result)
            assert kind.check(task, normalized, result.to_dict()) is None, (task.name, result)


def test_span_answers_get_a_token_budget_that_grows_with_their_source():
    """A long description holds dozens of entities: a span list's budget grows with the source text
    (about a token per three characters), never below the task's own budget nor above four times it;
    other kinds keep their own budget."""
    from ecomlm.runtime.kinds.spans import MAX_BUDGET_FACTOR, SOURCE_CHARS_PER_TOKEN
    ner, topic = catalog.get_task("ner"), catalog.get_task("review_topic")
    assert ner.kind.max_tokens(ner, FIELDS) == ner.max_new_tokens
    long_text = "Intel Core i5 processor, 8GB memory, 256GB SSD. " * 20
    budget = ner.kind.max_tokens(ner, {**FIELDS, "text": long_text})
    assert budget == len(long_text) // SOURCE_CHARS_PER_TOKEN > ner.max_new_tokens
    huge = {**FIELDS, "text": long_text * 10}
    assert ner.kind.max_tokens(ner, huge) == MAX_BUDGET_FACTOR * ner.max_new_tokens
    assert topic.kind.max_tokens(topic, huge) == topic.kind.max_tokens(topic, FIELDS) < ner.max_new_tokens
