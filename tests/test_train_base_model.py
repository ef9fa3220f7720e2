"""materialize_base / load_base_model: GGUF or HF folder -> plain, trainable Hugging Face folder."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ecomlm.source.base import MARKER, load_base_model, materialize_base  # noqa: E402
from tiny_models import tiny_model_dir  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model")


def test_hf_folder_is_materialized_plain_and_cached(tiny_dir, tmp_path):
    out = materialize_base(tiny_dir, tmp_path / "base")
    for name in ("model.safetensors", "config.json", "generation_config.json", "tokenizer.json", MARKER):
        assert (out / name).exists(), name
    gen = json.loads((out / "generation_config.json").read_text())
    model, tokenizer = load_base_model(out)
    assert gen["eos_token_id"] == tokenizer.convert_tokens_to_ids("<|im_end|>") == tokenizer.eos_token_id
    assert tokenizer.chat_template
    assert getattr(model, "hf_quantizer", None) is None
    assert getattr(model.config, "quantization_config", None) is None
    # same weights, same logits as the source
    from transformers import AutoModelForCausalLM
    src = AutoModelForCausalLM.from_pretrained(tiny_dir)
    ids = torch.tensor([[1, 5, 9, 30, 2]])
    with torch.no_grad():
        assert torch.equal(src(ids).logits, model(ids).logits)
    # cached: a second call reuses the folder
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert materialize_base(tiny_dir, out) == out
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


@pytest.mark.slow
def test_bundled_gguf_matches_llama_cpp(base_gguf, tmp_path):
    """The materialized base tokenizes like llama.cpp and continues a prompt greedily like it."""
    from llama_cpp import Llama

    out = materialize_base("base", tmp_path / "base")
    model, tokenizer = load_base_model(out)
    assert tokenizer.eos_token == "<|im_end|>"
    assert json.loads((out / "generation_config.json").read_text())["eos_token_id"] == tokenizer.eos_token_id
    llm = Llama(model_path=str(base_gguf), n_ctx=512, logits_all=True, verbose=False, seed=0)
    for text in ("Apple iPhone 13 Pro — 256 GB, “Graphite” 📱", "<|im_start|>user\nhi<|im_end|>\n",
                 "  spaces\tand\nnewlines ", "Café déjà vu ñ 中文 ✓",
                 "½ price, 1299 yuan ²"):  # SmolLM2's Digits pre-tokenizer splits " ½" (repaired)
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == \
            llm.tokenize(text.encode(), add_bos=False, special=True), text
    # Q4_1 weights dequantized (transformers) vs Q4_1 x Q8_1 products (llama.cpp): close, not equal,
    # so near-ties may flip (measured: logit correlation 0.9985-0.9995, max |diff| ~1.7 of ~25).
    for question in ("What is the capital of France?", "Name the brand in: Apple iPhone 13 Pro Max 256GB",
                     "Write a haiku about shoes."):
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                               add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            hf_logits = model(torch.tensor([ids])).logits[0]
        llm.reset()
        llm.eval(ids)
        cpp_logits = torch.tensor(llm.scores[: len(ids)])
        agree = (hf_logits.argmax(-1) == cpp_logits.argmax(-1)).float().mean().item()
        assert agree > 0.9, question
        corr = torch.corrcoef(torch.stack([hf_logits[-1], cpp_logits[-1]]))[0, 1].item()
        assert corr > 0.995, question
        assert set(hf_logits[-1].topk(3).indices.tolist()) == set(cpp_logits[-1].topk(3).indices.tolist())
