"""The base model's Hugging Face tokenizer, finished to tokenize and end turns as llama.cpp does.

A tokenizer that transformers reads from a GGUF file lacks what the GGUF declares (special token
ids, ``add_bos``, the chat template): ``finish_tokenizer`` puts them back and makes the chat
template's end-of-turn token the EOS; ``plain_fast_tokenizer`` saves it as a plain fast tokenizer.
The vocabulary itself is rebuilt or repaired in ``spm_tokenizer.py`` (SentencePiece, Gemma) and
``tokenizer_repair.py`` (byte-level, SmolLM2).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ecomlm.runtime.errors import ModelLoadError


def end_of_turn_id(tokenizer: Any) -> Optional[int]:
    """The token the chat template closes an assistant turn with (``<|im_end|>`` for SmolLM2)."""
    probe = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "PROBE"}]
    try:
        text = tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:  # no chat template
        return tokenizer.eos_token_id
    tail = text.split("PROBE", 1)[1] if "PROBE" in text else ""
    ids = tokenizer(tail, add_special_tokens=False)["input_ids"] if tail.strip() else []
    specials = set(tokenizer.all_special_ids) | {  # control tokens such as Gemma's <end_of_turn>
        int(i) for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(t, "special", False)}
    for token_id in ids:
        if token_id in specials:
            return int(token_id)
    return tokenizer.eos_token_id


def gguf_tokenizer_fields(gguf: Path) -> dict:
    """The tokenizer settings the GGUF file declares (special token ids, add_bos, chat template)."""
    from gguf import GGUFReader  # transformers' own GGUF dependency

    reader = GGUFReader(str(gguf))
    out = {}
    for key in ("bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id", "add_bos_token", "pre"):
        field = reader.fields.get(f"tokenizer.ggml.{key}")
        if field is not None:
            out[key] = field.contents()
    field = reader.fields.get("tokenizer.chat_template")
    if field is not None:
        out["chat_template"] = field.contents()
    return out


def declared_chat_template(gguf: Path) -> Optional[str]:
    """The chat format ecomlm declares for a template-less GGUF's architecture (runtime/chat_formats)."""
    from gguf import GGUFReader

    from ecomlm.runtime.chat_formats import for_architecture

    field = GGUFReader(str(gguf)).fields.get("general.architecture")
    fmt = for_architecture(field.contents() if field is not None else None)
    return fmt.template if fmt else None


def finish_tokenizer(tokenizer: Any, meta: Optional[dict]) -> int:
    """Give the tokenizer its chat template, special tokens and the right EOS; return the EOS id.

    transformers 4.57 reads a GGUF tokenizer with EOS = BOS (``<|im_start|>`` for SmolLM2) and adds a
    BOS that llama.cpp does not; the ids the GGUF file declares are put back here.
    """
    if meta is not None:  # read from a GGUF file (``gguf_tokenizer_fields``)
        names = {"bos_token_id": "bos_token", "eos_token_id": "eos_token",
                 "unknown_token_id": "unk_token", "padding_token_id": "pad_token"}
        for key, attr in names.items():
            if key in meta:
                setattr(tokenizer, attr, tokenizer.convert_ids_to_tokens(int(meta[key])))
        if "add_bos_token" in meta and hasattr(tokenizer, "add_bos_token"):
            tokenizer.add_bos_token = bool(meta["add_bos_token"])
        if hasattr(tokenizer, "add_eos_token"):
            tokenizer.add_eos_token = False
        if not getattr(tokenizer, "chat_template", None) and meta.get("chat_template"):
            tokenizer.chat_template = meta["chat_template"]
    if not getattr(tokenizer, "chat_template", None):
        raise ModelLoadError("the base model has no chat template; training renders conversations "
                             "with it: use an instruct model whose tokenizer carries one")
    eos_id = end_of_turn_id(tokenizer)
    if eos_id is None:
        raise ModelLoadError("cannot tell the base model's end-of-turn token (no EOS in its tokenizer)")
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return int(eos_id)


def plain_fast_tokenizer(tokenizer: Any) -> Any:
    """The same tokenizer as a plain ``PreTrainedTokenizerFast`` (tokenizer.json only).

    A tokenizer read from GGUF is a ``LlamaTokenizerFast`` whose "vocab file" is the GGUF itself:
    saving it writes the whole GGUF as ``tokenizer.model`` and ``tokenizer_class: LlamaTokenizer``,
    which a slow tokenizer (or llama.cpp's converter) would read as SentencePiece.
    """
    from transformers import PreTrainedTokenizerFast

    plain = PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer,
                                    bos_token=tokenizer.bos_token, eos_token=tokenizer.eos_token,
                                    unk_token=tokenizer.unk_token, pad_token=tokenizer.pad_token,
                                    clean_up_tokenization_spaces=False)
    plain.chat_template = tokenizer.chat_template
    return plain


__all__ = ["declared_chat_template", "end_of_turn_id", "finish_tokenizer", "gguf_tokenizer_fields",
           "plain_fast_tokenizer"]
