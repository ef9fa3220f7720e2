"""Bad inputs to `ecomlm export` fail with clear messages, before any work and without leftovers."""
from __future__ import annotations

import json
import shutil

import pytest

from ecomlm.cli.main import main


def run_cli(*args: str) -> int:
    return main(["export", *args])


def test_missing_model_and_non_model_folder(tmp_path, capsys):
    assert run_cli("gguf", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--quiet") == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run_cli("onnx", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--quiet") == 1
    assert "no config.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_not_a_causal_lm(tmp_path, capsys):
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    assert run_cli("onnx", str(folder), "--out", str(tmp_path / "o"), "--quiet") == 1
    assert "not a causal language model" in capsys.readouterr().err


def test_unknown_quantization(tmp_path, capsys):
    assert run_cli("gguf", "base", "--out", str(tmp_path / "o"), "--quant", "f16,q9_z") == 1
    err = capsys.readouterr().err
    assert "q9_z" in err and "q4_k_m" in err
    assert run_cli("onnx", "base", "--out", str(tmp_path / "o"), "--quant", "int3") == 1
    assert "int3" in capsys.readouterr().err


def test_existing_output_needs_force(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    assert run_cli("onnx", "base", "--out", str(tmp_path / "o"), "--quiet") == 1
    assert "--force" in capsys.readouterr().err


def test_converter_not_found_is_explained(tmp_path, monkeypatch):
    from ecomlm.source.converter import ConverterUnavailableError, ensure_converter

    monkeypatch.setenv("ECOMLM_LLAMA_CPP_SRC", str(tmp_path / "missing"))
    with pytest.raises(ConverterUnavailableError, match="convert_hf_to_gguf.py"):
        ensure_converter()
    monkeypatch.delenv("ECOMLM_LLAMA_CPP_SRC")
    monkeypatch.setenv("ECOMLM_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConverterUnavailableError, match="fetch-converter"):
        ensure_converter(download=False)


def _sdist(path, version, members):
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name in members:
            data = b"# stub\n"
            info = tarfile.TarInfo(f"llama_cpp_python-{version}/vendor/llama.cpp/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_converter_is_taken_from_an_sdist_tarball_atomically(tmp_path, monkeypatch):
    from ecomlm.source.converter import (LLAMA_CPP_PYTHON_VERSION, ConverterUnavailableError,
                                           ensure_converter)

    v = LLAMA_CPP_PYTHON_VERSION
    monkeypatch.setenv("ECOMLM_CACHE", str(tmp_path / "cache"))
    broken = _sdist(tmp_path / "broken.tar.gz", v, ["convert_hf_to_gguf.py", "LICENSE"])
    monkeypatch.setenv("ECOMLM_LLAMA_CPP_SRC", str(broken))
    with pytest.raises(ConverterUnavailableError, match="lacks part of the converter"):
        ensure_converter()
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())  # nothing half-written
    whole = _sdist(tmp_path / "whole.tar.gz", v, ["convert_hf_to_gguf.py", "convert_lora_to_gguf.py",
                                                  "conversion/__init__.py", "gguf-py/gguf/__init__.py",
                                                  "LICENSE", "README.md"])
    monkeypatch.setenv("ECOMLM_LLAMA_CPP_SRC", str(whole))
    conv = ensure_converter()
    assert (conv.root / "convert_hf_to_gguf.py").exists() and (conv.root / "gguf-py" / "gguf").is_dir()
    assert not (conv.root / "README.md").exists()  # only the converter's files are kept
    assert [p.name for p in conv.root.parent.iterdir()] == [conv.root.name]


def test_tokenizer_repair_only_touches_gguf_derived_tokenizers():
    from ecomlm.source.tokenizer_repair import repair_tokenizer_json

    plain = {"model": {"type": "BPE", "byte_fallback": False}, "pre_tokenizer": {"type": "ByteLevel"},
             "decoder": {"type": "ByteLevel"}}
    assert repair_tokenizer_json(plain, "smollm") == (plain, [])
    hybrid = {"model": {"type": "BPE", "byte_fallback": True}, "pre_tokenizer": {"type": "ByteLevel"},
              "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "ByteLevel"}]},
              "post_processor": {"type": "TemplateProcessing"}}
    fixed, changes = repair_tokenizer_json(hybrid, "smollm")
    assert changes and fixed["decoder"]["type"] == "ByteLevel" and not fixed["model"]["byte_fallback"]
    assert fixed["pre_tokenizer"]["pretokenizers"][0]["type"] == "Digits"


@pytest.mark.slow
def test_unsupported_architecture_is_reported(tmp_path, capsys):
    """A causal LM that llama.cpp's converter does not know: a clear error, no output folder."""
    pytest.importorskip("torch")
    from tiny_models import make_tiny_llama

    folder = make_tiny_llama(tmp_path / "tiny")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["FrobnicatorForCausalLM"]
    config["model_type"] = "frobnicator"
    (folder / "config.json").write_text(json.dumps(config))
    assert run_cli("gguf", str(folder), "--out", str(tmp_path / "o"), "--quant", "f16", "--quiet") == 1
    err = capsys.readouterr().err
    assert "FrobnicatorForCausalLM" in err and "not supported" in err
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    shutil.rmtree(folder)


def test_an_artifact_that_does_not_reproduce_the_model_is_named_in_a_warning():
    """Parity is in the manifest either way; an artifact far from the model (the collapsed int8 of
    an AVX2 machine: 39 % of next tokens agreeing) is also named on stderr, the usable ones are not."""
    from ecomlm.quantize.report import parity_warnings

    data = {"artifacts": [
        {"name": "int8", "parity": {"teacher_forced_top1": 0.386, "mean_kl": 3.6322}},
        {"name": "Q4_K_M", "parity": {"teacher_forced_top1": 0.952, "mean_kl": 0.0376}},
        {"name": "Q8_0", "parity": None},  # exported with --no-parity
    ]}
    lines = parity_warnings(data)
    assert len(lines) == 1 and "int8" in lines[0] and "39 %" in lines[0] and "3.632" in lines[0]


def test_a_manifest_names_the_cpu_features_that_decide_int8s_accuracy():
    """int8 with 8-bit weights is exact enough on a CPU with VNNI and collapses on AVX2 alone, so
    the machine line of a manifest says which of them the exporting CPU had."""
    from ecomlm.quantize.manifest import cpu_features

    avx2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
    vnni = "flags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n"
    assert cpu_features(avx2) == ["avx2"]
    assert cpu_features(vnni) == ["avx2", "avx512f", "avx512_vnni"]
    assert cpu_features("model name : something\n") == []


def test_ecomlms_int8_recipe_keeps_a_matmul_close_to_float_on_this_cpu():
    """Whatever the CPU (with VNNI or AVX2 alone), 7-bit per-channel int8 weights keep one MatMul
    within 3 % of the float result (on AVX2 the 8-bit per-channel weights were 7.5 % off)."""
    pytest.importorskip("onnxruntime")
    from ecomlm.quantize.int8_check import relative_errors

    errors = relative_errors()
    assert errors["per-channel, 7-bit weights (ecomlm's int8)"] < 0.03
