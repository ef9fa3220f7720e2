"""PMI re-ranking of answers (``question_pmi.py``): the candidate the question raises most
wins over one the context makes likely whatever the question; alpha 0 keeps the model's own order;
ties keep the first candidate; mismatched or empty score lists are refused."""
from __future__ import annotations

import pytest
from ecomlm.evaluate.question_pmi import pmi_choice, pmi_scores


def test_the_answer_the_question_raises_beats_the_one_likely_whatever_the_question():
    # "Windows" is the model's favourite with or without the question; "Linux" only with it
    with_q = [-1.0, -1.5]
    without_q = [-1.2, -6.0]
    assert pmi_choice(with_q, without_q, alpha=1.0) == 1
    assert pmi_scores(with_q, without_q, alpha=1.0) == pytest.approx([0.2, 4.5])


def test_alpha_zero_is_the_models_own_ranking_and_ties_keep_the_first():
    assert pmi_choice([-3.0, -1.0, -2.0], [-9.0, -1.0, -9.0], alpha=0.0) == 1
    assert pmi_choice([-1.0, -1.0], [-2.0, -2.0]) == 0


def test_half_alpha_lies_between_the_two_rankings():
    with_q, without_q = [-1.0, -2.0], [-1.0, -3.5]
    assert pmi_choice(with_q, without_q, alpha=0.0) == 0
    assert pmi_choice(with_q, without_q, alpha=1.0) == 1
    assert pmi_choice(with_q, without_q, alpha=0.5) == 1   # -0.5 against -0.25
    assert pmi_choice(with_q, without_q, alpha=0.25) == 0  # -0.75 against -1.125


def test_bad_score_lists_are_refused():
    with pytest.raises(ValueError, match="2 scores with the question but 1 without"):
        pmi_choice([-1.0, -2.0], [-1.0])
    with pytest.raises(ValueError, match="no candidate"):
        pmi_choice([], [])


def test_the_check_rescores_saved_answers_without_a_model(tmp_path, capsys):
    """``qa_rerank_check --rescore``: a saved row's first answer, its PMI pick and its best candidate,
    each scored against the gold of the split's item in the same order."""
    import json

    from ecomlm.evaluate import qa_rerank_check
    from ecomlm.runtime import catalog

    task = catalog.get_task("qa")
    context = "I run Windows at home. At work it runs on a Linux virtual machine."
    fields = catalog.normalize_fields(task, {"context": context, "question": "What does it run on at work?"})
    answer = catalog.format_answer(task, "Linux virtual machine")
    data = tmp_path / "val.jsonl"
    data.write_text(json.dumps({"task": "qa", "lang": "en",
                                "messages": catalog.build_messages(task, fields, answer=answer)}) + "\n")
    saved = tmp_path / "saved.jsonl"
    # the model's first answer is "Windows"; the question raises "Linux virtual machine" far more
    saved.write_text(json.dumps({"written": ["Windows", "Windows", "Linux virtual machine"],
                                 "gold": "Linux virtual machine",
                                 "candidates": ["Windows", "Linux virtual machine"],
                                 "with_question": [-1.0, -1.5], "without_question": [-1.2, -6.0]}) + "\n")
    assert qa_rerank_check.main(["--data", str(data), "--rescore", str(saved), "--alpha", "1", "--alpha", "0"]) == 0
    out = capsys.readouterr().out
    assert "| first (the model's answer today) | 1 | 0.00 |" in out
    assert "| PMI re-rank, alpha 1 | 1 | 100.00 |" in out
    assert "| PMI re-rank, alpha 0 | 1 | 0.00 |" in out
    assert "| best candidate of each item (upper bound of a re-rank) | 1 | 100.00 |" in out
    saved.write_text("")
    with pytest.raises(SystemExit, match="0 saved rows for 1 items"):
        qa_rerank_check.main(["--data", str(data), "--rescore", str(saved)])
