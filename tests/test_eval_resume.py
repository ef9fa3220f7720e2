"""A stopped ``ecomlm eval`` resumes: the items it answered are read back from its journal, only the
others are answered, and the results equal those of a run that was never stopped."""
from __future__ import annotations

import json

import pytest
from test_eval_pipeline import write_fixture

from ecomlm.evaluate.journal import JOURNAL_NAME
from ecomlm.evaluate.runner import EvalConfig, run_eval
from ecomlm.runtime import EcomModel
from ecomlm.runtime.errors import InvalidInputError

TASKS = ["EN-ABSA-CLS-review_topic_category", "EN-Reddit_QA-Extract-Extract_QA"]


class _Stop(Exception):
    """Stands for Ctrl-C or a killed session in the middle of a run."""


def _counting_runs(monkeypatch, stop_after=None):
    """Count the real model's answered items; raise ``_Stop`` on the call after ``stop_after``."""
    calls = []
    real = EcomModel.run

    def run(self, task, **kw):
        if stop_after is not None and len(calls) == stop_after:
            raise _Stop()
        calls.append(task)
        return real(self, task, **kw)
    monkeypatch.setattr(EcomModel, "run", run)
    return calls


def _config(heldout, out, **kw):
    return EvalConfig(heldout=heldout, models=["base"], out=out, limit=3, tasks=TASKS, n_ctx=2048,
                      n_threads=1, progress=False, **kw)


def _answers(out):
    return [(p["task"], p["index"], p["pred"], p["raw"])
            for p in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())]


@pytest.mark.slow
def test_a_stopped_eval_resumes_and_gives_the_uninterrupted_results(tmp_path, monkeypatch, capsys):
    heldout = write_fixture(tmp_path / "heldout")
    whole = run_eval(_config(heldout, tmp_path / "whole"))
    assert not (tmp_path / "whole" / JOURNAL_NAME).exists()  # deleted once the results are written

    out = tmp_path / "out"
    calls = _counting_runs(monkeypatch, stop_after=4)
    with pytest.raises(_Stop):
        run_eval(_config(heldout, out))
    assert len(calls) == 4 and not (out / "results.json").exists()
    assert "the 4 items answered are kept" in capsys.readouterr().err
    lines = (out / JOURNAL_NAME).read_text().splitlines()
    assert "setup" in json.loads(lines[0]) and sum('"example"' in line for line in lines) == 4
    with (out / JOURNAL_NAME).open("a") as f:
        f.write('{"example": {"model": "base", "task"')  # a last line a crash cut short

    with pytest.raises(InvalidInputError, match="holds a stopped run.*--resume.*--fresh"):
        run_eval(_config(heldout, out))  # neither flag: the answered items are not lost unasked
    monkeypatch.undo()
    calls = _counting_runs(monkeypatch)
    again = run_eval(_config(heldout, out, resume=True))
    assert len(calls) == 2  # only the 2 items the stopped run had not answered
    assert "--resume: 4 items already answered" in capsys.readouterr().err
    assert again["models"] == whole["models"]
    assert _answers(out) == _answers(tmp_path / "whole")
    assert again["meta"]["runs"]["base"]["resumed"] == 4
    assert "items from the stopped run it resumed" in (out / "results.md").read_text()
    assert not (out / JOURNAL_NAME).exists()


@pytest.mark.slow
def test_resume_refuses_another_setup_and_fresh_starts_over(tmp_path, monkeypatch, capsys):
    heldout = write_fixture(tmp_path / "heldout")
    out = tmp_path / "out"
    calls = _counting_runs(monkeypatch, stop_after=2)
    with pytest.raises(_Stop):
        run_eval(_config(heldout, out))
    monkeypatch.undo()
    with pytest.raises(InvalidInputError, match=r"other settings \(calibrate\)"):
        run_eval(_config(heldout, out, calibrate=False, resume=True))
    with pytest.raises(InvalidInputError, match="other items"):
        run_eval(EvalConfig(**{**vars(_config(heldout, out, resume=True)), "limit": 2}))
    with pytest.raises(InvalidInputError, match="give one"):
        run_eval(_config(heldout, out, resume=True, fresh=True))
    assert sum('"example"' in line for line in (out / JOURNAL_NAME).read_text().splitlines()) == 2

    calls = _counting_runs(monkeypatch)
    run_eval(_config(heldout, out, calibrate=False, fresh=True))
    assert len(calls) == 6  # nothing of the stopped run reused
    assert "--fresh" in capsys.readouterr().err


def test_a_journal_line_cut_short_and_the_answer_kinds_read_back(tmp_path):
    """Every field of an item survives the journal, and a torn last line is dropped on resume."""
    from ecomlm.evaluate.journal import EvalJournal
    from ecomlm.evaluate.mapping import Answer
    from ecomlm.evaluate.runner import Example

    setup = {"items": {"t": "x"}, "models": {"m": []}, "settings": {"consensus_of": None}}
    e = Example(task="t", index=3, catalog_task="ner", pred=Answer(items=(("Brand", "Lenovo"),), text="Lenovo"),
                gold=Answer(items=((None, "x"),), text="x"), raw="Brand: Lenovo", written=["a", "b"],
                dropped=1, error=None, seconds=0.5)
    j = EvalJournal.open(tmp_path, setup)
    j.record_load("m", "llama.cpp", 1.25)
    j.record("m", e)
    j.close()
    with (tmp_path / JOURNAL_NAME).open("a") as f:
        f.write('{"example": {"mod')
    again = EvalJournal.open(tmp_path, setup, resume=True)
    assert again.done("m", "t") == {3: e} and again.loaded("m")["backend"] == "llama.cpp"
    again.close()
    assert (tmp_path / JOURNAL_NAME).read_text().splitlines()[-1].startswith('{"example"')  # torn line gone


@pytest.mark.slow
def test_a_model_with_every_item_answered_is_not_loaded_again(tmp_path, monkeypatch):
    """A run stopped after its last answer (while writing the results) loads no model to finish."""
    heldout = write_fixture(tmp_path / "heldout")
    out = tmp_path / "out"
    from ecomlm.evaluate import report

    def broken(*a, **kw):
        raise _Stop()
    monkeypatch.setattr(report, "write_all", broken)
    with pytest.raises(_Stop):
        run_eval(_config(heldout, out))
    monkeypatch.undo()
    loads = []
    real = EcomModel.load.__func__

    def load(cls, *a, **kw):
        loads.append(a)
        return real(cls, *a, **kw)
    monkeypatch.setattr(EcomModel, "load", classmethod(load))
    results = run_eval(_config(heldout, out, resume=True))
    assert loads == [] and results["meta"]["runs"]["base"]["resumed"] == 6
    assert (out / "results.json").exists() and not (out / JOURNAL_NAME).exists()


def test_the_cli_names_resume_and_fresh_when_out_holds_a_stopped_run(tmp_path, capsys):
    from ecomlm.cli.main import main

    heldout = write_fixture(tmp_path / "heldout")
    out = tmp_path / "out"
    out.mkdir()
    (out / JOURNAL_NAME).write_text('{"setup": {}}\n{"example": {}}\n')
    rc = main(["eval", "--heldout", str(heldout), "--model", "base", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "1 items answered" in err and "--resume" in err and "--fresh" in err
    rc = main(["eval", "--heldout", str(heldout), "--model", "base", "--out", str(out), "--resume"])
    assert rc == 1 and "other models or model files and items and settings" in capsys.readouterr().err


def test_the_journal_records_a_shipped_models_own_decoding_and_names_its_change(tmp_path, monkeypatch):
    """``default`` answers qa by a beam of 4 (``ShippedModel.task_beams``): a run stopped under
    another shipped setting is refused on resume, naming it, so greedy and beam answers never mix."""
    import dataclasses

    from ecomlm.evaluate.heldout import load_heldout
    from ecomlm.evaluate.journal import _differences
    from ecomlm.evaluate.realistic_eval import RealisticConfig, realistic_setup
    from ecomlm.evaluate.runner import run_setup
    from ecomlm.runtime.models import MODELS

    heldout = write_fixture(tmp_path / "heldout")
    config = EvalConfig(heldout=heldout, models=["default", "base"], out=tmp_path / "out", limit=3, tasks=TASKS)
    tasks = load_heldout(config.heldout, config.tasks, config.limit)
    now = run_setup(config, tasks)
    assert now["settings"]["shipped_beams"] == {"default": {"qa": 4}, "base": {}}
    realistic = RealisticConfig(models=["default"], out=tmp_path / "r")  # eval-realistic's journal too
    assert realistic_setup(realistic, [])["settings"]["shipped_beams"] == {"default": {"qa": 4}}
    monkeypatch.setitem(MODELS, "default", dataclasses.replace(MODELS["default"], task_beams=()))
    before = run_setup(config, tasks)
    assert _differences(before, now) == "settings (shipped_beams)"
    assert _differences(now, now) == "contents"

