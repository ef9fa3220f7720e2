"""The hand-labelled realistic set (evaluate/realistic/) and ``ecomlm eval-realistic``."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ecomlm.evaluate import realistic_eval as rv
from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError

from conftest import SHARED

MERCHANT_TASKS = {"ner", "attribute_extraction", "sentiment", "product_category", "review_topic",
                  "query_match", "same_product", "qa", "title_generation"}


def _write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "items.jsonl", "w", encoding="utf-8") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"id": f"x-{i}", **row}) + "\n")
    return folder


def test_bundled_set_has_20_items_for_every_merchant_task_and_every_gold_reads_back():
    items = rv.load_items()  # raises if any gold answer does not read back through its task's parser
    counts = Counter(i.task for i in items)
    assert set(counts) == MERCHANT_TASKS
    assert min(counts.values()) >= 20, counts
    assert len({i.id for i in items}) == len(items)
    for item in items:
        gold = rv.gold_of(item)
        task = catalog.get_task(item.task)
        if task.output in ("typed_spans", "spans"):
            source = item.fields[task.source_field]
            assert all(value in source for _, value in gold.items), item.id
        if task.output in ("label", "yes_no"):
            assert len(gold.items) == 1, item.id


def test_the_chinese_set_has_10_items_for_every_merchant_task_and_scores_titles_by_characters():
    items = rv.load_items(rv.REALISTIC_DIR / "zh")  # raises if a gold answer does not read back
    counts = Counter(i.task for i in items)
    assert set(counts) == MERCHANT_TASKS - {"review_topic"}
    assert min(counts.values()) >= 10, counts
    # the Rouge-L tasks' items read as Chinese (as the runtime tells an input's language)
    assert {i.lang for i in items if i.task in ("qa", "title_generation")} == {"zh"}
    assert {i.lang for i in rv.load_items()} == {"en"}
    title = next(i for i in items if i.task == "title_generation")
    gold = rv.gold_of(title)
    # one wrong character of a Chinese title costs a character's share, not a whole word's
    wrong = rv.Comparable(frozenset(), gold.text[:-1] + "X")
    assert 0.9 < rv.item_score("rouge_l", wrong, gold, title.lang) < 1.0
    assert rv.item_score("rouge_l", wrong, gold, "en") < 0.9


def test_a_gold_span_missing_from_the_text_stops_loading(tmp_path):
    folder = _write(tmp_path / "set", [{"task": "ner", "fields": {"text": "Sony WH-1000XM5, black",
                                                                   "types": ["Brand", "Attribute"]},
                                         "answer": [["Brand", "Sony"], ["Attribute", "white"]]}])
    with pytest.raises(InvalidInputError, match="does not read back"):
        rv.load_items(folder)


def test_a_label_outside_the_set_stops_loading(tmp_path):
    folder = _write(tmp_path / "set", [{"task": "sentiment", "fields": {"text": "Broke in a day.",
                                                                         "labels": ["positive", "negative"]},
                                         "answer": "awful"}])
    with pytest.raises(InvalidInputError, match="does not read back"):
        rv.load_items(folder)


class GoldModel:
    """Answers every item with its gold answer, through the task's own parser."""

    def __init__(self, items):
        self.gold = {json.dumps(i.fields, sort_keys=True): i.answer for i in items}

    def run(self, task, **fields):
        t = catalog.get_task(task)
        return catalog.gold_result(t, self.gold[json.dumps(fields, sort_keys=True)], fields)


def test_gold_answers_score_100_on_every_task_and_wrong_labels_score_0():
    items = rv.load_items()
    summary = rv.summarize(rv.run_model(GoldModel(items), items))
    assert {t: s["score"] for t, s in summary.items()} == {t: 100.0 for t in MERCHANT_TASKS}
    assert all(s["metric"] == catalog.get_task(t).metric for t, s in summary.items())

    class Wrong:  # always the yes/no answer opposite to the gold one
        def run(self, task, **fields):
            gold = GoldModel(items).run(task, **fields)
            gold.match = not gold.match
            return gold
    yes_no = [i for i in items if i.task == "same_product"]
    assert rv.summarize(rv.run_model(Wrong(), yes_no))["same_product"]["score"] == 0.0


def test_baselines(tmp_path):
    folder = _write(tmp_path / "set", [
        {"task": "sentiment", "fields": {"text": "Great.", "labels": ["positive", "negative"]}, "answer": "negative"},
        {"task": "sentiment", "fields": {"text": "Bad.", "labels": ["positive", "negative"]}, "answer": "negative"},
        {"task": "sentiment", "fields": {"text": "Fine.", "labels": ["positive", "negative"]}, "answer": "positive"},
        {"task": "title_generation", "fields": {"specs": {"brand": "Lodge", "size": "12 inch"}},
         "answer": "Lodge 12 Inch Skillet"},
        {"task": "qa", "fields": {"question": "How heavy?", "context": "It weighs 2 kg."}, "answer": "2 kg"},
        {"task": "ner", "fields": {"text": "Sony headphones", "types": ["Brand"]}, "answer": [["Brand", "Sony"]]},
    ])
    items = rv.load_items(folder)
    base = rv.score_baseline(items)
    what, rows = base["sentiment"]
    assert what == "majority: negative" and [s.pred.text for s in rows] == ["negative"] * 3
    assert rv.task_score("micro_f1", rows) == pytest.approx(100 * 2 / 3)
    assert base["title_generation"][1][0].pred.text == "Lodge, 12 inch"
    assert base["qa"][1][0].pred.text == "It weighs 2 kg."
    assert base["ner"][0] == "empty answer" and rv.task_score("micro_f1", base["ner"][1]) == 0.0


def test_limit_and_task_filter(tmp_path):
    items = rv.load_items(tasks=["qa", "sentiment"], limit=3)
    assert Counter(i.task for i in items) == {"qa": 3, "sentiment": 3}


def test_examples_are_never_both_best_and_worst():
    items = [i for i in rv.load_items() if i.task == "sentiment"][:4]

    class Half:  # right on the first two, wrong on the last two
        def run(self, task, **fields):
            gold = GoldModel(items).run(task, **fields)
            if fields["text"] in (items[2].fields["text"], items[3].fields["text"]):
                other = next(c for c in gold.candidates if c != gold.labels[0])
                gold.labels = [other]
            return gold
    ex = rv.examples(rv.run_model(Half(), items))["sentiment"]
    assert [s.item.id for s in ex["best"]] == [items[0].id, items[1].id]
    assert [s.item.id for s in ex["worst"]] == [items[2].id, items[3].id]
    everything_right = rv.examples(rv.run_model(GoldModel(items), items))["sentiment"]
    assert len(everything_right["best"]) == 2 and everything_right["worst"] == []


@pytest.mark.skipif(not (SHARED / "ecomgpt_heldout").is_dir(), reason="held-out sets not present")
def test_no_item_shares_an_8_word_or_8_character_run_with_a_heldout_input():
    from ecomlm.train.data.guard import char_runs, heldout_inputs, word_runs

    inputs = list(heldout_inputs(sorted((SHARED / "ecomgpt_heldout").rglob("test.json"))))
    heldout = {r for text in inputs for r in word_runs(text, 8)}
    heldout_chars = {r for text in inputs for r in char_runs(text, 8)}
    assert heldout and heldout_chars
    for item in rv.load_items() + rv.load_items(rv.REALISTIC_DIR / "zh"):
        texts = [v for v in item.fields.values() if isinstance(v, str)]
        texts += [v for v in item.fields.get("specs", {}).values()]
        for text in texts:
            assert not set(word_runs(text, 8)) & heldout, item.id
            assert not set(char_runs(text, 8)) & heldout_chars, item.id


def test_eval_realistic_command_runs_the_base_model(tmp_path, base_gguf):
    from ecomlm.cli.main import main

    out = tmp_path / "out"
    rc = main(["eval-realistic", "--model", "base", "--task", "sentiment", "--task", "qa", "--limit", "2",
               "--threads", "1", "--n-ctx", "1024", "--no-progress", "--out", str(out)])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["models"]["base"]) == {"sentiment", "qa"}
    assert results["models"]["base"]["sentiment"]["n"] == 2
    assert results["baseline"]["qa"]["what"] == "whole context"
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert Counter(p["model"] for p in preds) == {"base": 4, "baseline": 4}
    labels = [p["pred"] for p in preds if p["model"] == "base" and p["task"] == "sentiment"]
    assert all(lab in ("positive", "negative", "neutral") for lab in labels)
    assert "| sentiment | micro-F1 | 2 |" in (out / "results.md").read_text()


def test_every_output_kind_has_a_scoring_form_a_gold_check_and_a_baseline():
    """eval-realistic takes all of it from the kinds: a new kind works on a set of its own tasks."""
    from test_every_kind import FIELDS, RAWS, tasks_of

    from ecomlm.evaluate.realistic_items import BASELINES
    from ecomlm.runtime.kinds import KINDS, OutputKind

    for name, kind in KINDS.items():
        assert kind.baseline in BASELINES, name
        assert type(kind).reads_back is not OutputKind.reads_back, name
        for task in tasks_of(kind):
            fields = catalog.normalize_fields(task, {f: FIELDS[f] for f in task.required})
            for raw in RAWS:
                pred = rv.comparable(kind.parse(task, raw, fields))
                assert isinstance(pred.text, str) and all(len(i) == 2 for i in pred.items)
            item = rv.Item(id="x", task=task.name, fields=fields, answer=None)
            if kind.baseline != "majority":  # the majority needs gold answers
                what, answers = rv.baseline_answers(task.name, [item])
                assert what and len(answers) == 1


def test_a_shopper_question_among_two_products_shows_its_inputs_in_the_report(tmp_path):
    items = rv.load_items(_write(tmp_path / "set", [
        {"task": "which_of_two", "answer": "A",
         "fields": {"query": "red shoes", "product_a": "red running shoes", "product_b": "blue hat"}}]))
    scored = rv.run_model(GoldModel(items), items)
    md = rv.render_markdown({"gold": rv.summarize(scored)}, {"which_of_two": {
        "score": 0.0, "what": "majority: A"}}, {"gold": scored})
    assert "| which_of_two | best | 1.00 | red shoes / red running shoes / blue hat | A | A |" in md


class _Stop(Exception):
    """Stands for Ctrl-C or a killed session in the middle of a run."""


def _answers(out: Path) -> list[tuple]:
    return [(p["model"], p["task"], p["id"], p["pred"], p["raw"], p["score"])
            for p in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())]


@pytest.mark.slow
def test_a_stopped_eval_realistic_resumes_and_gives_the_uninterrupted_results(tmp_path, base_gguf,
                                                                               monkeypatch, capsys):
    from ecomlm.evaluate.journal import JOURNAL_NAME
    from ecomlm.runtime import EcomModel

    config = lambda out, **kw: rv.RealisticConfig(models=["base"], out=out, tasks=["ner", "sentiment"],  # noqa: E731
                                                  limit=2, n_ctx=1024, n_threads=1, progress=False, **kw)
    whole = rv.run_realistic(config(tmp_path / "whole"))
    assert not (tmp_path / "whole" / JOURNAL_NAME).exists()

    calls: list[str] = []
    real = EcomModel.run

    def run(self, task, **kw):
        if len(calls) == 3:
            raise _Stop()
        calls.append(task)
        return real(self, task, **kw)
    monkeypatch.setattr(EcomModel, "run", run)
    out = tmp_path / "out"
    with pytest.raises(_Stop):
        rv.run_realistic(config(out))
    assert len(calls) == 3 and not (out / "results.json").exists()
    assert "the 3 items answered are kept" in capsys.readouterr().err
    with pytest.raises(InvalidInputError, match="holds a stopped run.*--resume.*--fresh"):
        rv.run_realistic(config(out))
    with pytest.raises(InvalidInputError, match="other items"):
        rv.run_realistic(rv.RealisticConfig(**{**vars(config(out, resume=True)), "limit": 1}))

    calls.clear()
    again = rv.run_realistic(config(out, resume=True))
    assert len(calls) == 1  # only the item the stopped run had not answered
    assert "--resume: 3 items already answered" in capsys.readouterr().err
    untimed = lambda r: {t: {k: v for k, v in row.items() if k != "s_per_item"}  # noqa: E731
                         for t, row in r["models"]["base"].items()}
    assert untimed(again) == untimed(whole)
    assert _answers(out) == _answers(tmp_path / "whole")
    assert again["meta"]["runs"]["base"]["resumed"] == 3
    assert not (out / JOURNAL_NAME).exists()


def test_an_answer_reads_back_whole_from_its_journal_line():
    """The journal keeps an answer's scoring items (types, a None class) and its score comes back."""
    items = [i for i in rv.load_items(tasks=["ner", "qa"], limit=1)]
    for item in items:
        gold = rv.gold_of(item)
        s = rv.Scored(item, gold, gold, 1.0, raw="raw text", error=None, seconds=0.25)
        line = json.loads(json.dumps(s.to_record("m")))
        back = rv.Scored.from_record(line, item)
        assert (back.pred, back.gold, back.score, back.raw, back.seconds) == (gold, gold, 1.0, "raw text", 0.25)
