"""Out-of-range command-line options and damaged model folders: one clear line, never a traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ecomlm.runtime import EcomModel
from ecomlm.runtime.errors import InvalidInputError, ModelLoadError


def ecomlm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecomlm.cli", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("args, words", [
    (["serve", "--pool-size", "0"], ["--pool-size", "at least 1"]),
    (["serve", "--port", "99999"], ["--port", "from 1 to 65535"]),
    (["serve", "--port", "http"], ["--port", "not a port number"]),
    (["serve", "--timeout", "-1"], ["--timeout", "out of range"]),
    (["serve", "--timeout", "nan"], ["--timeout", "out of range"]),
    (["serve", "--n-ctx", "-5"], ["--n-ctx", "out of range"]),
    (["serve", "--max-queue", "-1"], ["--max-queue", "out of range"]),
    (["demo", "--pool-size", "-2"], ["--pool-size"]),
    (["run", "classify", "--text", "x", "--labels", "a,b", "--n-ctx", "-5"], ["--n-ctx", "out of range"]),
])
def test_out_of_range_options_get_one_usage_line(args, words):
    out = ecomlm(*args)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    for word in words:
        assert word in out.stderr


def test_a_bad_context_size_from_python_names_the_option(base_gguf):
    with pytest.raises(InvalidInputError, match="n_ctx must be a positive"):
        EcomModel.load("base", n_ctx=-5)


def test_an_onnx_folder_with_a_junk_tokenizer_is_a_model_load_error(tmp_path):
    pytest.importorskip("onnxruntime")
    (tmp_path / "model.onnx").write_bytes(b"junk")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "tokenizer.json").write_text("{not a tokenizer")
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        EcomModel.load(str(tmp_path))
