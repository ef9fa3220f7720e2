"""The demo's batch runs on CSV and JSONL files, with the real base model: bad rows listed, not fatal."""
from __future__ import annotations

import csv
import json

import pytest

from ecomlm.demo.batch import guess_column, main_field, read_rows, run_table
from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError

LABELS = ["positive", "negative"]


def test_main_field_is_the_source_or_first_item():
    assert main_field(catalog.get_task("ner")) == "text"
    assert main_field(catalog.get_task("query_match")) == "query"
    assert main_field(catalog.get_task("title_generation")) == "specs"


def test_column_guess_prefers_the_field_name_then_the_longest_text():
    task = catalog.get_task("sentiment")
    rows = [(1, {"id": "17", "review": "Great value for money", "text": "x"})]
    assert guess_column(task, ["id", "review", "text"], rows) == "text"
    assert guess_column(task, ["id", "review"], rows) == "review"


def test_unknown_file_kind_is_refused(tmp_path):
    path = tmp_path / "reviews.xlsx"
    path.write_text("x")
    with pytest.raises(InvalidInputError, match=".csv"):
        read_rows(path)


def test_csv_batch_answers_good_rows_and_lists_bad_ones(base_model, tmp_path):
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review"])
        w.writerow(["a1", "Love it, works perfectly."])
        w.writerow(["a2", ""])                                   # empty text: skipped
        w.writerow(["a3", "Broke after two days.", "extra cell"])  # malformed row: skipped
        w.writerow(["a4", "Arrived late and scratched."])
    seen = []
    outcome = run_table(base_model, "sentiment", path, tmp_path / "out", column="review",
                        defaults={"labels": LABELS}, on_item=lambda i, n: seen.append((i, n)))
    assert outcome.n_rows == 4 and outcome.n_ok == 2
    assert [n for n, _ in outcome.errors] == [2, 3]
    assert "'review' is empty" in outcome.errors[0][1] and "cells" in outcome.errors[1][1]
    assert seen[-1] == (2, 2)
    lines = [json.loads(ln) for ln in outcome.jsonl_path.read_text().splitlines()]
    assert [ln["row"] for ln in lines] == [1, 4]
    assert lines[0]["input"]["id"] == "a1"
    assert all(ln["result"]["labels"][0] in LABELS for ln in lines)
    with outcome.csv_path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4"]
    assert rows[0]["answer"] in LABELS and rows[1]["answer"] == "" and rows[1]["error"]
    assert [p[0] for p in outcome.preview] == ["1", "4"]


def test_jsonl_batch_takes_fields_from_keys(base_model, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join([
        json.dumps({"query": "usb-c charger", "product": "Anker 65W USB-C charger"}),
        "{not json",
        json.dumps({"query": "red dress"}),  # product missing
        json.dumps(["a", "list"]),
    ]) + "\n", encoding="utf-8")
    outcome = run_table(base_model, "query_match", path, tmp_path / "out")
    assert outcome.n_ok == 1 and [n for n, _ in outcome.errors] == [2, 3, 4]
    assert "JSON" in outcome.errors[0][1] and "product" in outcome.errors[1][1]
    line = json.loads(outcome.jsonl_path.read_text())
    assert isinstance(line["result"]["match"], bool)
