"""Training and inference see the same prompt: the classic bug of this field, checked on the real model.

Training renders corpus messages with the Hugging Face tokenizer's chat template (``train.chat_tokens``);
the runtime renders them with the GGUF's own template on llama.cpp. Both must give the same text and
the same token ids, for English, Chinese and special-character inputs.
"""
from __future__ import annotations

import pytest

from ecomlm.runtime import catalog

pytest.importorskip("transformers")

CASES = [
    ("ner", {"text": "Lenovo ThinkPad X1 Carbon, 14\" – Intel® Core™ i7 🚀", "types": ["Brand", "Product"]}),
    ("attribute_extraction", {"text": "HC圆领拼接连衣裙 2023新款", "attributes": ["领型", "风格"]}),
    ("select_product", {"query": "大落地窗", "candidates": ["新豪轩门窗, 铝合金窗", "床围栏宝宝"]}),
    ("title_generation", {"specs": {"brand": "Anker", "capacity": "20000mAh"}}),
]


@pytest.fixture(scope="module")
def hf_tokenizer(base_gguf):
    from ecomlm.source.base import load_base_model
    _, tokenizer = load_base_model("base")
    return tokenizer


@pytest.mark.parametrize("task_name, fields", CASES)
def test_training_and_runtime_render_identical_prompts(task_name, fields, hf_tokenizer, base_model):
    task = catalog.get_task(task_name)
    norm = catalog.normalize_fields(task, fields)
    messages = catalog.build_messages(task, norm)
    train_text = hf_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    runtime_text = base_model.prompt_for(task, norm)
    assert train_text == runtime_text
    train_ids = hf_tokenizer(train_text, add_special_tokens=False)["input_ids"]
    assert train_ids == base_model.backend.tokenize(runtime_text)
