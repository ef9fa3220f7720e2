"""A tiny random Llama with a real (small, freshly trained) BPE tokenizer and a ChatML template.

Built offline in about a second; tests of training, merging and export use it instead of the base
model. It has SmolLM2's layout (ChatML turns, ``<|im_end|>`` as EOS, tied embeddings).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "Extract the brand and product from the title: Apple iPhone 13 Pro Max 256GB Graphite.",
    "Brand: Apple\nProduct: iPhone 13 Pro Max\nAttribute: 256GB",
    "Classify the sentiment of the review as positive, negative or neutral. The battery life is great!",
    "Is the query relevant to the product? Answer Yes or No. Query: red running shoes.",
    "Samsung Galaxy S21 Ultra 5G 128GB Phantom Black unlocked smartphone with 108MP camera.",
    "Question: how long does the charger take? Context: It charges fully in about two hours.",
    "Category options: Electronics, Clothing, Home & Kitchen, Sports, Beauty, Toys, Books.",
    "The quick brown fox jumps over the lazy dog 0123456789 !?.,;:'\"()[]{}-_/\\@#$%&*+=<>",
]


def tiny_tokenizer(vocab_size: int = 600) -> Any:
    """A byte-level BPE tokenizer trained on a few e-commerce lines, with ChatML specials."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>", pad_token="<|im_end|>")
    fast.chat_template = CHATML_TEMPLATE
    return fast


def tiny_model_dir(out_dir: str | os.PathLike[str], *, seed: int = 0, hidden_size: int = 64,
                   layers: int = 2, init_std: float = 0.2) -> Path:
    """Write a tiny random LlamaForCausalLM (float32) with ``tiny_tokenizer()`` to ``out_dir``.

    ``init_std`` is larger than Llama's 0.02 so that the tied head can express confident
    predictions at this width (otherwise logits stay near uniform and the loss barely moves).
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    tokenizer = tiny_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=True, initializer_range=init_std,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
