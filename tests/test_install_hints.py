"""What a user of a partial install sees: one line naming the missing extra and the command that
installs it for this install method (a clone here), before any work; list inputs of the Python API
given as one comma-separated string."""
from __future__ import annotations

import subprocess
import sys

import pytest

HIDE = "import sys; [sys.modules.__setitem__(m, None) for m in {hidden!r}]; "


def run_hidden(hidden: list[str], *argv: str) -> subprocess.CompletedProcess:
    """``ecomlm ARGV`` in a process where the ``hidden`` modules cannot be imported."""
    code = HIDE.format(hidden=hidden) + f"from ecomlm.cli.main import main; sys.exit(main({list(argv)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv, hidden, extra", [
    (["train", "--base", "base", "--data", "d.jsonl", "--out", "runs/x"], ["torch"], "train"),
    (["merge", "runs/x", "--out", "models/x"], ["torch", "peft"], "train"),
    (["export", "onnx", "default", "--out", "exports/x"], ["optimum"], "export"),
    (["export", "gguf", "default", "--out", "exports/x"], ["torch"], "export"),
    (["serve"], ["fastapi_offline"], "demo"),
])
def test_a_missing_extra_is_one_line_naming_the_install_command(tmp_path, argv, hidden, extra):
    out = run_hidden(hidden, *argv)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"bash scripts/setup.sh {extra}" in lines[0] and hidden[0] in lines[0]
    assert not (tmp_path / "exports").exists()


def test_install_hint_follows_the_install_method(monkeypatch):
    from ecomlm.cli import extras
    assert extras.install_hint("demo") == "run `bash scripts/setup.sh demo` in the clone"
    monkeypatch.setattr(extras, "clone_root", lambda: None)
    assert extras.install_hint("demo") == "run `pip install 'ecomlm[demo]'`"


def test_a_sub_package_the_editable_install_predates_is_explained():
    from ecomlm.cli.extras import explain_missing_module

    stale = ModuleNotFoundError("No module named 'ecomlm.source'", name="ecomlm.source")
    assert "pip install --no-deps -e ." in explain_missing_module(stale)
    assert explain_missing_module(ModuleNotFoundError("x", name="ecomlm.no_such_folder")) is None
    assert explain_missing_module(ModuleNotFoundError("x", name="ecomlm")) is None


def test_python_api_takes_a_comma_separated_string_for_a_list(base_model):
    r = base_model.classify("The battery died after two days", labels="positive, negative")
    assert r.candidates == ["positive", "negative"] and r.label in r.candidates
    spans = base_model.extract_entities("Apple iPhone 15 Pro, 256 GB", types="Brand,Product")
    assert all(s.type in ("Brand", "Product") for s in spans.spans)
    assert base_model.select_product("iphone", candidates="Apple iPhone 15, Samsung S24").label in (
        "Apple iPhone 15", "Samsung S24")
