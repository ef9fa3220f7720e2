"""`ecomlm merge`: adapter merged into the base gives the adapter model's logits, in a standard folder."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from ecomlm.source.merge import merge_run  # noqa: E402
from ecomlm.train.trainer import train  # noqa: E402
from corpus_fixtures import write_corpus  # noqa: E402
from tiny_models import tiny_model_dir  # noqa: E402
from tiny_runs import tiny_config, tiny_training  # noqa: E402


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    with tiny_training(root):
        base = tiny_model_dir(root / "tiny")
        train(str(base), write_corpus(root / "train.jsonl", 64, 0), root / "run", config=tiny_config(),
              progress=False)
        yield root / "run"


def test_merge_parity_and_standard_folder(trained_run, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from ecomlm.cli.main import main

    out = tmp_path / "merged"
    assert main(["merge", str(trained_run), "--out", str(out)]) == 0
    report = json.loads((out / "merge_report.json").read_text())
    assert report["max_abs_logit_diff_merged_vs_adapter"] < 1e-4
    assert report["max_abs_logit_diff_merged_vs_base"] > 1e-3  # the adapter really changed the model
    for name in ("model.safetensors", "config.json", "generation_config.json", "tokenizer.json"):
        assert (out / name).exists(), name
    assert not list(out.glob("adapter_*"))  # a plain model, no peft files
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template and tokenizer.eos_token == "<|im_end|>"
    assert GenerationConfig.from_pretrained(out).eos_token_id == tokenizer.eos_token_id

    # independently: the saved merged model reproduces base + adapter
    info = json.loads((trained_run / "run.json").read_text())
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(info["base_dir"]),
                                             trained_run / "adapter").eval()
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Extract the brand: Sony camera"}],
                                         tokenize=False, add_generation_prompt=True)
    ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, with_adapter(ids).logits, rtol=1e-4, atol=1e-4)


def test_merge_refuses_an_unfinished_run(tmp_path):
    from ecomlm.runtime.errors import InvalidInputError
    (tmp_path / "run").mkdir()
    with pytest.raises(InvalidInputError, match="no finished adapter"):
        merge_run(tmp_path / "run", tmp_path / "out")


def test_ship_writes_a_gguf_lora_and_a_half_precision_peft_adapter(trained_run, tmp_path):
    from gguf import GGUFReader
    from safetensors.torch import load_file

    from ecomlm.train.ship import ship_run

    dest = ship_run(trained_run, tmp_path / "shipped")
    for name in ("adapter.gguf", "adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                 "run.json", "config.yaml"):
        assert (dest / name).exists(), name
    half = load_file(str(dest / "adapter" / "adapter_model.safetensors"))
    full = load_file(str(trained_run / "adapter" / "adapter_model.safetensors"))
    assert half.keys() == full.keys() and all(t.dtype == torch.float16 for t in half.values())
    for key in full:
        torch.testing.assert_close(half[key].float(), full[key], rtol=1e-3, atol=1e-4)
    reader = GGUFReader(str(dest / "adapter.gguf"))
    kind = reader.fields["general.type"]
    assert bytes(kind.parts[kind.data[0]]).decode() == "adapter"
    assert len(reader.tensors) == len(full)  # one GGUF tensor per lora_A / lora_B matrix
    assert not list(tmp_path.glob(".shipped.*"))  # no temp folder left behind


def test_reshipping_keeps_the_model_card_and_replaces_the_adapter(trained_run, tmp_path):
    from ecomlm.train.ship import ship_run

    dest = tmp_path / "shipped"
    dest.mkdir()
    (dest / "README.md").write_text("# model card\n")
    (dest / "heldout.json").write_text('{"summary": "NER 9.2"}\n')
    (dest / "adapter.gguf").write_bytes(b"old")
    (dest / "stale.txt").write_text("from an older run\n")
    ship_run(trained_run, dest)
    assert (dest / "README.md").read_text() == "# model card\n"
    assert (dest / "heldout.json").read_text() == '{"summary": "NER 9.2"}\n'
    assert (dest / "adapter.gguf").read_bytes()[:4] == b"GGUF"
    assert not (dest / "stale.txt").exists()
