"""`ecomlm export ollama`: the folder `ollama create` reads (ollama itself is not installable here, so
the Modelfile's content is checked, and its TEMPLATE is rendered and compared with the prompt
ecomlm's runtime sends for sample tasks)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ecomlm.quantize.ollama import (STOPS, TEMPLATE, check_template, default_system, export_ollama,
                                    ollama_prompt, render_template)
from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError, ModelLoadError


@pytest.mark.parametrize("task, fields", [
    ("sentiment", {"text": "Great value", "labels": ["positive", "negative"]}),
    ("ner", {"text": "Apple iPhone 15 Pro, 256 GB", "types": ["Brand", "Product"]}),
    ("qa", {"question": "Is it waterproof?", "context": "Rated IP68: waterproof to 6 m."}),
])
def test_the_template_renders_the_runtime_prompt(base_model, task, fields):
    t = catalog.get_task(task)
    normalized = catalog.normalize_fields(t, fields)
    system, user = (m["content"] for m in catalog.build_messages(t, normalized))
    assert ollama_prompt(TEMPLATE, system, user) == base_model.prompt_for(t, normalized)


def test_the_default_system_prompt_is_the_chat_templates(base_model):
    system = default_system(base_model)
    assert "SmolLM" in system
    plain = base_model.backend.chat_prompt([{"role": "user", "content": "Hi"}])
    assert ollama_prompt(TEMPLATE, system, "Hi") == plain


def test_render_template_follows_go_conditionals():
    assert render_template("{{ if .System }}S={{ .System }};{{ end }}P={{ .Prompt }}", "", "x") == "P=x"
    assert render_template("{{ if .System }}S={{ .System }};{{ end }}P={{ .Prompt }}", "a", "x") == "S=a;P=x"


def test_a_non_chatml_template_is_refused(base_model):
    with pytest.raises(ModelLoadError, match="not ChatML"):
        check_template(base_model, TEMPLATE.replace("<|im_start|>user", "<|im_start|>human"))


def test_export_writes_the_gguf_adapter_and_modelfile(tmp_path, base_gguf):
    out = subprocess.run([sys.executable, "-m", "ecomlm.cli", "export", "ollama", "default", "--out",
                          str(tmp_path / "ollama")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "ollama"
    assert sorted(p.name for p in folder.iterdir()) == ["Modelfile", "adapter.gguf", "model.gguf"]
    assert (folder / "model.gguf").read_bytes()[:4] == b"GGUF" == (folder / "adapter.gguf").read_bytes()[:4]
    text = (folder / "Modelfile").read_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "FROM ./model.gguf" and lines[1] == "ADAPTER ./adapter.gguf"
    assert f'TEMPLATE """{TEMPLATE}"""' in text and 'SYSTEM """' in text
    for stop in STOPS:
        assert f'PARAMETER stop "{stop}"' in text
    assert "PARAMETER temperature 0" in text
    with pytest.raises(InvalidInputError, match="--force"):
        export_ollama("default", folder)


def test_a_non_gguf_model_names_the_export_to_run_first(tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    with pytest.raises(InvalidInputError, match="ecomlm export gguf"):
        export_ollama(str(hf), tmp_path / "out")
