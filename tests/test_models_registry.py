"""The model registry (runtime/models.py, ``ecomlm models``) and the Gemma base assembly
(runtime/gemma_base.py): chunks joined atomically, checked against the sha256, never half-written."""
from __future__ import annotations

import hashlib
import json
import types

import pytest

from ecomlm.runtime import gemma_base
from ecomlm.runtime.errors import ModelLoadError
from ecomlm.runtime.models import GEMMA3, MODELS, ShippedModel


def test_registry_names_bases_licences_and_languages():
    assert {"default", "multilingual", "base", "gemma3-270m"} <= set(MODELS)
    assert MODELS["default"].base.licence == "Apache-2.0" and MODELS["default"].languages == ("en",)
    assert MODELS["multilingual"].base is GEMMA3 and "zh" in MODELS["multilingual"].languages
    assert MODELS["multilingual"].base.licence == "Gemma Terms of Use"


def test_models_command_lists_every_name(capsys):
    from ecomlm.cli.main import main

    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(MODELS)
    assert rows["default"]["status"].startswith("installed")
    assert rows["base"]["licence"] == "Apache-2.0"
    assert rows["default"]["beams"] == {"qa": 4} and rows["base"]["beams"] == {}
    assert main(["models"]) == 0
    assert "qa answered by a beam search of 4" in capsys.readouterr().out


def test_a_fine_tuned_name_without_its_adapter_is_refused_not_run_as_the_base(tmp_path):
    model = ShippedModel("x", MODELS["base"].base, tmp_path / "missing-adapter", ("en",))
    with pytest.raises(ModelLoadError, match="adapter"):
        model.resolve()


@pytest.fixture
def fake_chunks(tmp_path, monkeypatch):
    parts = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 1000, b"tail"]
    paths = []
    for i, data in enumerate(parts):
        p = tmp_path / f"chunk{i}"
        p.write_bytes(data)
        paths.append(p)
    whole = b"".join(parts)
    package = types.SimpleNamespace(EXPECTED_SHA256=hashlib.sha256(whole).hexdigest(),
                                    chunk_paths=lambda: paths)
    monkeypatch.setattr(gemma_base, "_package", lambda: package)
    return package, whole


def test_assembly_joins_the_chunks_and_records_the_check(tmp_path, fake_chunks):
    _, whole = fake_chunks
    target = tmp_path / "out" / "model.gguf"
    assert gemma_base.assemble(target) == target
    assert target.read_bytes() == whole
    assert (target.parent / "model.gguf.verified").exists()
    mtime = target.stat().st_mtime_ns
    gemma_base.assemble(target)  # verified: not written again
    assert target.stat().st_mtime_ns == mtime


def test_a_wrong_sha256_leaves_no_file_behind(tmp_path, fake_chunks):
    package, _ = fake_chunks
    package.EXPECTED_SHA256 = "0" * 64
    target = tmp_path / "out" / "model.gguf"
    with pytest.raises(ModelLoadError, match="sha256"):
        gemma_base.assemble(target)
    assert list(target.parent.iterdir()) == []  # neither the file nor a temp file


def test_a_changed_file_is_checked_again(tmp_path, fake_chunks):
    _, whole = fake_chunks
    target = tmp_path / "out" / "model.gguf"
    gemma_base.assemble(target)
    target.write_bytes(b"corrupted")
    gemma_base.assemble(target)
    assert target.read_bytes() == whole


def test_missing_packages_name_the_install_command(monkeypatch):
    monkeypatch.setattr(gemma_base, "PACKAGE", "no_such_gemma_package_xyz")
    monkeypatch.delenv("ECOMLM_GEMMA_GGUF", raising=False)
    with pytest.raises(ModelLoadError, match="setup.sh multilingual"):
        gemma_base.assemble(gemma_base.cache_root() / "never" / "x.gguf")


def test_chinese_text_to_an_english_only_model_gets_a_hint_and_nothing_is_switched():
    from ecomlm.runtime.models import language_hint

    assert "English only" in language_hint("default", ["华为 Mate 60 Pro 手机 雅川青"])
    assert language_hint("default", ["Samsung Galaxy S24 Ultra 256GB"]) is None
    assert language_hint("multilingual", ["华为 Mate 60 Pro 手机 雅川青"]) is None
    assert language_hint("/some/model.gguf", ["华为 手机"]) is None  # not a registered name: no claim
