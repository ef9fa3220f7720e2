"""The shipped default model: the bundled base GGUF with the committed GGUF LoRA adapter applied."""
from __future__ import annotations

import json

import pytest

from ecomlm.runtime import EcomModel
from ecomlm.runtime.model_ref import DEFAULT_ADAPTER, default_adapter, resolve

pytestmark = pytest.mark.skipif(not DEFAULT_ADAPTER.exists(), reason="no adapter shipped in this build")

CATEGORIES = ["Electronics", "Clothing", "Grocery", "Toys"]


@pytest.fixture(scope="module")
def default_model(base_gguf):
    model = EcomModel.load("default", n_ctx=2048)
    yield model
    model.close()


def test_default_resolves_to_base_plus_the_shipped_adapter(base_gguf):
    resolved = resolve("default")
    assert resolved.adapter == default_adapter() == DEFAULT_ADAPTER
    assert resolved.path == base_gguf
    assert resolve("base").adapter is None
    shipped = DEFAULT_ADAPTER.parent
    assert json.loads((shipped / "run.json").read_text())["base"] == "base"
    assert (shipped / "adapter" / "adapter_model.safetensors").stat().st_size < 25_000_000


def test_the_adapter_changes_the_answers(default_model, base_model):
    text = "Lenovo ThinkPad X1 Carbon Gen 11, 14 inch, Intel Core i7"
    types = ["Brand", "Product", "Attribute", "Component"]
    assert default_model.extract_entities(text, types).raw != base_model.extract_entities(text, types).raw


def test_fine_tuned_answers_are_typed_spans_and_varied_labels(default_model, base_model):
    ents = default_model.extract_entities("Apple AirPods Pro with MagSafe charging case",
                                          ["Brand", "Product", "Component"])
    assert ents.spans and all(s.type in ("Brand", "Product", "Component") for s in ents.spans)
    products = ["Levi's 501 original fit men's jeans", "Samsung 55-inch 4K smart TV", "Nike Dri-FIT running t-shirt"]
    # greedy (calibration off): what the fine-tune itself learned
    labels = [default_model.classify(p, CATEGORIES, task="product_category", calibrate=False).label
              for p in products]
    assert len(set(labels)) >= 2  # not one answer for everything
    assert labels[0] == "Clothing" != base_model.classify(products[0], CATEGORIES, task="product_category",
                                                          calibrate=False).label
    calibrated = [default_model.classify(p, CATEGORIES, task="product_category").label for p in products]
    assert len(set(calibrated)) >= 2


def test_setup_smoke_check_answers_through_a_child_process(base_gguf, capsys):
    # scripts/setup.sh runs this check after the llama.cpp build; it must pass on a working install
    # (a build that crashes on the CPU makes the child die by a signal, reported as exit status 1)
    from ecomlm.runtime import smoke

    assert smoke.main() == 0
    assert "Lenovo" in capsys.readouterr().out
