"""`ecomlm run --input` with CSV and JSONL files, results to a file or standard output, sentiment's
default labels, and `ecomlm prompt`, as a user runs them (subprocesses, the bundled base model)."""
from __future__ import annotations

import json
import subprocess
import sys

from ecomlm.runtime.batch_input import iter_csv_items
from ecomlm.runtime.task_defaults import SENTIMENT_LABELS


def ecomlm(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecomlm.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def test_csv_cells_become_inputs(tmp_path):
    src = tmp_path / "items.csv"
    src.write_text('text,labels,reviews\n"Cable, 2 m","cables, shoes","a, b||c"\n\n,,\n1,2,3,4\n',
                   encoding="utf-8")
    rows = list(iter_csv_items(src))
    assert rows[0] == (2, {"text": "Cable, 2 m", "labels": "cables, shoes", "reviews": ["a, b", "c"]})
    assert rows[1][0] == 5 and "header names 3 columns" in str(rows[1][1])


def test_batch_reads_csv_and_writes_to_stdout(tmp_path, base_gguf):
    src = tmp_path / "reviews.csv"
    src.write_text("text,labels\nBroke after a week,\nLove it,\"good, bad\"\n", encoding="utf-8")
    out = ecomlm("run", "sentiment", "--input", str(src), "--output", "-", "--model", "base")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["line"] for r in rows] == [2, 3]
    assert rows[0]["result"]["candidates"] == list(SENTIMENT_LABELS)  # the default labels
    assert rows[1]["result"]["labels"][0] in ("good", "bad")
    assert "wrote 2 result(s) to standard output" in out.stderr


def test_batch_jsonl_to_a_file_and_single_run_default_labels(tmp_path, base_gguf):
    src = tmp_path / "items.jsonl"
    src.write_text('{"text": "Terrible"}\n', encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    assert ecomlm("run", "sentiment", "--input", str(src), "--output", str(dst), "--model", "base").returncode == 0
    assert json.loads(dst.read_text())["result"]["labels"][0] in SENTIMENT_LABELS
    out = ecomlm("run", "sentiment", "--text", "Terrible", "--model", "base")
    assert out.returncode == 0 and out.stdout.strip() in SENTIMENT_LABELS
    refused = ecomlm("run", "sentiment", "--input", str(src), "--output", "-", "--resume", "--model", "base")
    assert refused.returncode == 1 and "standard output" in refused.stderr


def test_prompt_prints_what_run_sends(base_model):
    out = ecomlm("prompt", "sentiment", "--text", "Broke after a week", "--model", "base")
    assert out.returncode == 0, out.stderr
    from ecomlm.runtime import catalog
    task = catalog.get_task("sentiment")
    fields = catalog.normalize_fields(task, {"text": "Broke after a week", "labels": list(SENTIMENT_LABELS)})
    assert out.stdout == base_model.prompt_for(task, fields)
    messages = json.loads(ecomlm("prompt", "ner", "--text", "Apple iPhone", "--types", "brand", "--messages").stdout)
    assert [m["role"] for m in messages] == ["system", "user"] and "Apple iPhone" in messages[1]["content"]


def test_version_and_reviews_help():
    from importlib.metadata import version
    out = ecomlm("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"ecomlm {version('ecomlm')}"
    assert "separated by '||'" in ecomlm("run", "--help").stdout
