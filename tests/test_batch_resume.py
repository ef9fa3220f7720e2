"""`ecomlm run --input/--output` survives bad lines and kill -9: real subprocesses, the bundled model."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

LABELS = "good,bad"


def ecomlm(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecomlm.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def _write_items(path, n_good: int) -> list[int]:
    """n_good valid lines, with bad ones mixed in; returns the line numbers of the good ones."""
    lines, good = [], []
    bad = [b'{"text": "b", "labels": 5}', b'{"text": "\xff\xfe broken utf-8"}',
           b'{"text": "bad \\ud800 escape"}', b'{"text": "x", "labels": ["a\\u0000b", "c"]}',
           b'{"text": "x", "labels": {"nested": 1}}', b'[1, 2]', b'{"text": null}']
    for i in range(n_good):
        lines.append(json.dumps({"text": f"Item {i}: arrived on time, works fine"}).encode())
        good.append(len(lines))
        if i < len(bad):
            lines.append(bad[i])
    path.write_bytes(b"\n".join(lines) + b"\n")
    return good


def _rows(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_bad_lines_are_reported_and_skipped_never_fatal(tmp_path, base_gguf):
    items, out = tmp_path / "items.jsonl", tmp_path / "out.jsonl"
    good = _write_items(items, 8)
    run = ecomlm("run", "classify", "--labels", LABELS, "--input", str(items), "--output", str(out),
                 "--model", "base")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(r["line"] for r in _rows(out)) == good
    assert all(r["result"]["labels"][0] in ("good", "bad") for r in _rows(out))
    n_lines = len(items.read_bytes().splitlines())
    for line in sorted(set(range(1, n_lines + 1)) - set(good)):
        assert f"items.jsonl:{line}: skipped" in run.stderr
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # an ordinary file


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_kill_9_then_resume_answers_every_line_exactly_once(tmp_path, base_gguf):
    items, out = tmp_path / "items.jsonl", tmp_path / "out.jsonl"
    good = _write_items(items, 40)
    proc = subprocess.Popen([sys.executable, "-m", "ecomlm.cli", "run", "classify", "--labels", LABELS,
                             "--input", str(items), "--output", str(out), "--model", "base"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed; make the input longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows_tolerant(out)
    assert 3 <= len(before) < len(good)
    with out.open("ab") as f:  # as if the kill had cut a write short
        f.write(b'{"line": 99999, "input": {"te')
    assert not list(tmp_path.glob(".*tmp*"))  # no hidden temp file: the results are in --output

    again = ecomlm("run", "classify", "--labels", LABELS, "--input", str(items), "--output", str(out),
                   "--model", "base")
    assert again.returncode != 0 and "--resume" in again.stderr and "--force" in again.stderr

    resumed = ecomlm("run", "classify", "--labels", LABELS, "--input", str(items), "--output", str(out),
                     "--model", "base", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(before)} already there" in resumed.stderr
    lines = [r["line"] for r in _rows(out)]
    assert sorted(lines) == good and len(lines) == len(set(lines))  # every line exactly once
    assert lines[:len(before)] == [r["line"] for r in before]       # the first run's results kept


def _rows_tolerant(path) -> list[dict]:
    return [json.loads(x) for x in path.read_bytes().split(b"\n") if x.endswith(b"}")]


@pytest.mark.parametrize("output, flags, message", [
    ("items.jsonl", [], "is the input file"),
    ("items.jsonl", ["--force"], "is the input file"),
    ("./items.jsonl", ["--force"], "is the input file"),
    ("somedir/", [], "is a folder"),
    ("existing.jsonl", [], "exists; pass --resume"),
    ("notafolder.txt/out.jsonl", [], "is not a folder"),
])
def test_output_path_is_checked_before_any_work(tmp_path, output, flags, message):
    (tmp_path / "items.jsonl").write_text('{"text": "hello"}\n')
    (tmp_path / "existing.jsonl").write_text("{}\n")
    (tmp_path / "notafolder.txt").write_text("x")
    started = time.time()
    run = ecomlm("run", "classify", "--labels", LABELS, "--input", "items.jsonl", "--output", output,
                 "--model", "/nope/not-loaded.gguf", *flags, cwd=tmp_path)
    assert run.returncode != 0 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "does not exist" not in run.stderr  # no model was loaded
    assert (tmp_path / "items.jsonl").read_text() == '{"text": "hello"}\n'
    assert (tmp_path / "existing.jsonl").read_text() == "{}\n"
    assert time.time() - started < 60
