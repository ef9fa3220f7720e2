"""Every catalog task (so every output kind and input field) runs on llama.cpp, ONNX Runtime and
PyTorch, and each answer keeps its kind's promise: labels in the set, spans copied from their source
with offsets, yes/no answers, one-line titles."""
from __future__ import annotations

import pytest

from ecomlm.runtime import catalog
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, SpansResult, TextResult

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
EXPECTED = {
    catalog.TYPED_SPANS: SpansResult, catalog.SPANS: SpansResult, catalog.LABEL: LabelResult,
    catalog.LABELS: LabelResult, catalog.CHOICE: LabelResult, catalog.YES_NO: MatchResult,
    catalog.ANSWER_SPAN: AnswerResult, catalog.TEXT: TextResult,
}


def check(task: catalog.Task, fields: dict, result) -> None:
    assert isinstance(result, EXPECTED[task.output]), (task.name, result)
    options = catalog.options_of(task, catalog.normalize_fields(task, fields))
    if isinstance(result, SpansResult):
        source = fields[task.source_field]
        for line in result.raw.split("\n"):  # every line is copied by construction
            value = line.split(": ", 1)[1] if task.output == catalog.TYPED_SPANS and line != "None" else line
            assert line == "None" or value in source, (task.name, result.raw)
        for span in result.spans:
            assert source[span.start:span.end] == span.text
            assert task.output == catalog.SPANS or span.type in options
    elif isinstance(result, LabelResult):
        assert all(lab in options for lab in result.labels), (task.name, result.raw)
        assert result.labels or (task.output == catalog.LABELS and result.raw == "None"), (task.name, result.raw)
    elif isinstance(result, MatchResult):
        assert result.raw in (catalog.YES, catalog.NO)
    elif isinstance(result, AnswerResult):
        assert result.dropped == 0, (task.name, result)  # copied by construction: nothing to drop
        if result.span is None:  # only when the model chose the "None" answer
            assert result.raw.strip() == "None", (task.name, result.raw)
        else:
            assert fields["context"][result.span.start:result.span.end] == result.span.text
    elif task.single_line:
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


def test_every_task_runs_and_keeps_its_promise(model):
    seen = set()
    for task in catalog.list_tasks():
        fields = {name: FIELDS[name] for name in task.required}
        result = model.run(task.name, **fields)
        check(task, fields, result)
        seen.add(task.output)
        if task.output in (catalog.SPANS, catalog.TYPED_SPANS, catalog.ANSWER_SPAN):
            required = model.run(task.name, allow_none=False, **fields)
            check(task, fields, required)
            assert required.raw.strip() != "None"
        if task.output == catalog.LABEL and "text" in task.fields:
            check(task, fields, model.run(task.name, calibrate=True, **fields))
    assert seen == set(EXPECTED)
