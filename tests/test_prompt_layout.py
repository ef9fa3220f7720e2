"""Prompt layouts: a corpus built with ``--restate qa=question`` writes the question again after the
context; the layout travels corpus -> run.json -> the shipped adapter's layout.json, and the runtime
asks that adapter, and only it, in the same layout.

Real parts throughout: the corpus builder on the fixture datasets, a tiny model trained and shipped
by the real trainer and ``ship_run``, and the bundled SmolLM2 base with the shipped adapter standing in
as a QA specialist."""
from __future__ import annotations

import json
import shutil

import pytest

from ecomlm.runtime import EcomModel, catalog
from ecomlm.runtime.errors import InvalidInputError, ModelLoadError
from ecomlm.runtime.layout import LAYOUT_FILE, corpus_restate, read_restate, write_layout
from ecomlm.runtime.model_ref import DEFAULT_ADAPTER, ResolvedModel, Specialist

QA = {"question": "How long does the battery last?",
      "context": "I bought it for travel.\nThe battery lasts about ten hours on one charge.\nShipping was fast."}


def test_the_question_is_restated_after_the_context_and_only_when_asked():
    task = catalog.get_task("qa")
    fields = catalog.normalize_fields(task, QA)
    plain = catalog.render_user(task, fields).split("\n")
    restated = catalog.render_user(task, fields, restate=("question",)).split("\n")
    assert restated[:-1] == plain  # the default layout, then one line more
    assert restated[-1] == f"Question: {QA['question']}"
    assert plain.index(f"Question: {QA['question']}") < plain.index("Context: I bought it for travel.")
    messages = catalog.build_messages(task, fields, answer="about ten hours", restate=("question",))
    assert messages[1]["content"] == "\n".join(restated) and messages[2]["content"] == "about ten hours"
    assert catalog.restate_layout(task, {"qa": ["question"], "ner": ["text"]}) == ("question",)
    assert catalog.restate_layout(catalog.get_task("sentiment"), {"qa": ["question"]}) == ()
    with pytest.raises(InvalidInputError, match="cannot restate"):
        catalog.restate_layout(task, {"qa": ["labels"]})


def test_a_restated_user_turn_reads_back_to_the_same_fields():
    from ecomlm.evaluate.split_reading import fields_of

    task = catalog.get_task("qa")
    fields = catalog.normalize_fields(task, QA)
    for restate in ((), ("question",)):
        assert fields_of(task, catalog.render_user(task, fields, restate=restate)) == fields


def test_a_corpus_built_with_a_layout_changes_only_the_restated_turns(tmp_path):
    from ecomlm.train.data.build import BuildConfig, build_corpus
    from ecomlm.train.data.cli import parse_restate
    from test_corpus_fixtures import write_heldout, write_sources

    src, held = write_sources(tmp_path / "datasets"), write_heldout(tmp_path / "heldout", ["nothing shared"])
    rows = {}
    for name, restate in (("plain", {}), ("restated", parse_restate(["qa=question"]))):
        build_corpus(BuildConfig(source=src, heldout=held, out=tmp_path / name, cap=50, seed=3,
                                 val_fraction=0.3, progress=False, restate=restate))
        rows[name] = [json.loads(line) for split in ("train", "val")
                      for line in (tmp_path / name / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
    plain, restated = rows["plain"], rows["restated"]
    assert len(plain) == len(restated) and any(r["task"] == "qa" for r in plain)
    for a, b in zip(plain, restated):  # same instances in the same places
        if a["task"] != "qa":
            assert a == b
            continue
        question = next(line for line in a["messages"][1]["content"].split("\n") if line.startswith("Question: "))
        assert b["messages"][1]["content"] == a["messages"][1]["content"] + "\n" + question
        assert b["messages"][2] == a["messages"][2] and b["messages"][0] == a["messages"][0]
    assert corpus_restate(tmp_path / "restated" / "train.jsonl") == {"qa": ("question",)}
    assert corpus_restate(tmp_path / "plain" / "train.jsonl") == {}
    with pytest.raises(InvalidInputError, match="TASK=FIELD"):
        parse_restate(["qa"])
    with pytest.raises(InvalidInputError, match="cannot restate"):
        BuildConfig(source=src, out=tmp_path / "bad", restate={"qa": ("labels",)})


def test_a_run_trained_on_a_restated_corpus_ships_its_layout(tmp_path):
    pytest.importorskip("peft")
    from corpus_fixtures import write_corpus
    from tiny_models import tiny_model_dir
    from tiny_runs import tiny_config, tiny_training

    from ecomlm.train.ship import ship_run
    from ecomlm.train.trainer import train

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "stats.json").write_text(json.dumps({"config": {"restate": {"qa": ["question"]}}}))
    with tiny_training(tmp_path):
        base = tiny_model_dir(tmp_path / "tiny")
        train(str(base), write_corpus(corpus / "train.jsonl", 16, 0), tmp_path / "run",
              config=tiny_config(max_steps=1), progress=False)
        plain = tmp_path / "plain-corpus"  # no stats.json: a hand-made file, the default layout
        plain.mkdir()
        train(str(base), write_corpus(plain / "train.jsonl", 16, 0), tmp_path / "plain-run",
              config=tiny_config(max_steps=1), progress=False)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["restate"] == {"qa": ["question"]}
    shipped = ship_run(tmp_path / "run", tmp_path / "shipped")
    assert read_restate(shipped / "adapter.gguf") == {"qa": ("question",)}
    assert not (ship_run(tmp_path / "plain-run", tmp_path / "shipped-plain") / LAYOUT_FILE).exists()


def test_layout_files_that_do_not_read_name_the_fix(tmp_path):
    assert read_restate(None) == {} and read_restate(tmp_path / "adapter.gguf") == {}
    write_layout(tmp_path, {})
    assert not (tmp_path / LAYOUT_FILE).exists()  # the default layout writes nothing
    (tmp_path / LAYOUT_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match="ecomlm ship"):
        read_restate(tmp_path / "adapter.gguf")
    (tmp_path / LAYOUT_FILE).write_text(json.dumps({"restate": {"qa": "question"}}))
    with pytest.raises(ModelLoadError, match="lists of field names"):
        read_restate(tmp_path / "adapter.gguf")


@pytest.mark.skipif(not DEFAULT_ADAPTER.exists(), reason="no shipped adapter to stand in")
def test_the_runtime_asks_an_adapter_in_its_layout_and_every_other_in_the_default(base_gguf, base_model, tmp_path):
    from ecomlm.runtime.backends import load_backend

    (tmp_path / "qa").mkdir()
    shutil.copy(DEFAULT_ADAPTER, tmp_path / "qa" / "adapter.gguf")
    write_layout(tmp_path / "qa", {"qa": ("question",)})
    resolved = ResolvedModel("routed", "gguf", base_gguf, None, (Specialist("qa", tmp_path / "qa" / "adapter.gguf"),))
    routed = EcomModel(base_model.backend, resolved, specialist_loader=load_backend)
    task = catalog.get_task("qa")
    fields = catalog.normalize_fields(task, QA)
    # the specialist's prompt ends with the question again; the generalist's would not
    assert routed.restated_fields("qa", fields) == ("question",)
    assert base_model.restated_fields("qa", fields) == ()
    assert routed.prompt_for("qa", fields) == base_model.backend.chat_prompt(
        catalog.build_messages(task, fields, restate=("question",)))
    assert routed.prompt_for("qa", fields) != base_model.prompt_for("qa", fields)
    # other tasks keep the default layout; a variant shares what was read
    assert routed.prompt_for("sentiment", {"text": "great"}) == base_model.prompt_for("sentiment", {"text": "great"})
    assert routed.variant(beams=1).restated_fields("qa", fields) == ("question",)
    # the whole call works in that layout: a span of the context comes back
    answer = routed.answer(QA["question"], QA["context"], allow_none=False)
    assert answer.answer and answer.answer in QA["context"]
    routed._specialists.popitem()[1].close()
