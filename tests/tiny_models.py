"""Tiny random Llamas for the tests (never shipped: the package does not need them).

- ``tiny_model_dir``: a real (small, freshly trained) BPE tokenizer and a ChatML template, built
  offline in about a second; tests of training and merging use it instead of the base model. It has
  SmolLM2's layout (ChatML turns, ``<|im_end|>`` as EOS, tied embeddings).
- ``make_tiny_llama``: the base model's real tokenizer (SmolLM2's, with its chat template and
  ``<|im_end|>`` as EOS), read from the bundled base GGUF once and cached under
  ``<cache>/tiny-tokenizer-*`` (repaired to tokenize as llama.cpp does, see
  ``source/tokenizer_repair.py``); tests of export and backends run every step of the real pipeline
  on it, in seconds.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

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


# -- with the base model's tokenizer (export, backends) ----------------------------------------------
def base_tokenizer_folder(gguf_path: Optional[Path] = None) -> Path:
    """The base model's tokenizer as a Hugging Face folder (built once from the GGUF, then cached)."""
    from ecomlm.runtime.model_ref import base_gguf_path
    from ecomlm.runtime.cache import cache_root

    src = Path(gguf_path) if gguf_path else base_gguf_path()
    out = cache_root() / f"tiny-tokenizer-v2-{src.stat().st_size}"  # v2: generic fast class
    if (out / "tokenizer.json").exists():
        return out
    from transformers import AutoTokenizer

    from ecomlm.runtime.atomic_io import atomic_dir
    from ecomlm.source.hf_tokenizer import gguf_tokenizer_fields
    from ecomlm.source.tokenizer_repair import repair_folder

    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    tok.chat_template = gguf_tokenizer_fields(src)["chat_template"]  # gguf-py: no llama.cpp needed
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|im_end|>"
    with atomic_dir(out) as tmp:
        tok.save_pretrained(tmp)
        repair_folder(tmp, tmp, "smollm")
    return out


def make_tiny_llama(out_dir: str | os.PathLike[str], *, hidden_size: int = 64, layers: int = 2,
                    seed: int = 0, init_range: float = 0.2, gguf_path: Optional[Path] = None) -> Path:
    """Write a random ``LlamaForCausalLM`` (float32) with the base tokenizer into ``out_dir``.

    ``init_range`` is larger than a trained model's so that next-token distributions are peaked and
    greedy choices do not hinge on rounding.
    """
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(base_tokenizer_folder(gguf_path))
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         initializer_range=init_range, bos_token_id=tok.bos_token_id,
                         eos_token_id=eos, pad_token_id=eos, rms_norm_eps=1e-5)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # weights exactly representable in float16: an F16 export loses nothing
        for p in model.parameters():
            p.copy_(p.half().float())
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=eos,
                                               pad_token_id=eos)
    out = Path(out_dir)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out
