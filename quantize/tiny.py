"""A tiny random Llama with the base model's real tokenizer, saved as a Hugging Face folder.

Tests of export and backends run on it: every step of the real pipeline, in seconds. The tokenizer
(SmolLM2's, with its chat template and ``<|im_end|>`` as EOS) is read from the bundled base GGUF once
and cached under ``<cache>/tiny-tokenizer-*`` (repaired to tokenize as llama.cpp does, see
``tokenizer_repair.py``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional


def base_tokenizer_folder(gguf_path: Optional[Path] = None) -> Path:
    """The base model's tokenizer as a Hugging Face folder (built once from the GGUF, then cached)."""
    from ecomlm.runtime.model_ref import base_gguf_path
    from ecomlm.train.base_model import cache_root

    src = Path(gguf_path) if gguf_path else base_gguf_path()
    out = cache_root() / f"tiny-tokenizer-v2-{src.stat().st_size}"  # v2: generic fast class
    if (out / "tokenizer.json").exists():
        return out
    from transformers import AutoTokenizer

    from ecomlm.runtime.atomic_io import atomic_dir
    from ecomlm.train.base_model import _gguf_tokenizer_fields

    from .tokenizer_repair import repair_folder

    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    tok.chat_template = _gguf_tokenizer_fields(src)["chat_template"]  # gguf-py: no llama.cpp needed
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
