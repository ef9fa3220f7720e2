"""A tiny random Gemma-3-style model for the tests, shaped like the multilingual model's base.

``tiny_gemma_folder`` writes a ``Gemma3ForCausalLM`` (2 layers: one sliding-window, one full
attention) with a real SentencePiece BPE vocabulary trained here in about a second on a few English
and Chinese product lines (byte fallback, Gemma's control tokens at Gemma's ids 0-3 and the
``<start_of_turn>``/``<end_of_turn>`` pair), and no chat template, as the pretrained Gemma 3 270M
GGUF has none. ``tiny_gemma_gguf`` converts that folder with llama.cpp's converter (F32): the
shape of the file ``materialize_base`` starts from for the real model.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

_LINES = [
    "Apple iPhone 13 Pro Max 256GB Graphite unlocked smartphone",
    "Samsung Galaxy S24 Ultra 5G 12GB RAM Titanium Black",
    "Classify the review: the battery life is great and the screen is sharp.",
    "Question: how long does the charger take? Context: it charges fully in about two hours.",
    "华为 Mate 60 Pro 手机 5G 全网通 12GB+512GB 雅川青",
    "小米 Redmi Note 13 智能手机 8GB 256GB 星沙白 品牌：小米 颜色：白色",
    "这款耳机音质很好，续航时间长，性价比高。",
    "Brand: Apple\nProduct: iPhone\nColor: black, white, blue 0123456789 !?.,;:()",
]


def tiny_sentencepiece(vocab_size: int = 400) -> bytes:
    """A serialized SentencePiece BPE model with Gemma's special-token layout."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_LINES * 20), model_writer=model, model_type="bpe", vocab_size=vocab_size,
        byte_fallback=True, character_coverage=1.0, add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", control_symbols=["<start_of_turn>", "<end_of_turn>"], minloglevel=2)
    return model.getvalue()


def tiny_gemma_folder(out_dir: str | os.PathLike[str], *, seed: int = 0, hidden_size: int = 64) -> Path:
    """Write the tiny random Gemma 3 (float32, weights exact in float16) with its tokenizer."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, GenerationConfig

    from ecomlm.source.spm_tokenizer import fast_tokenizer_from_proto

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spm = tiny_sentencepiece()
    (out / "tokenizer.model").write_bytes(spm)
    # built as transformers 4.57's GemmaTokenizerFast(vocab_file=...) built it; transformers 5 ignores
    # that file (source/spm_tokenizer.py), so the GPU box's versions can run these tests too
    tok = fast_tokenizer_from_proto(spm)
    config = Gemma3TextConfig(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                              num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                              sliding_window=16, layer_types=["sliding_attention", "full_attention"],
                              max_position_embeddings=1024, initializer_range=0.2, bos_token_id=2,
                              eos_token_id=1, pad_token_id=0, tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    model.generation_config = GenerationConfig(bos_token_id=2, eos_token_id=1, pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def tiny_gemma_gguf(out_dir: str | os.PathLike[str], **kwargs: Any) -> Path:
    """The tiny Gemma as an F32 GGUF without a chat template (llama.cpp's converter)."""
    from ecomlm.quantize.gguf_export import convert

    out = Path(out_dir)
    folder = tiny_gemma_folder(out / "hf", **kwargs)
    gguf = out / "tiny-gemma3.gguf"
    convert(folder, gguf, "f32")
    return gguf
