"""The base model as a plain Hugging Face folder that training, merging and export can all load.

``materialize_base(ref)`` turns ``'base'`` (the bundled SmolLM2-135M-Instruct Q4_1 GGUF), any other
``.gguf`` file, or a Hugging Face causal-LM folder into a standard folder: ``model.safetensors``,
the tokenizer with its chat template, and a ``generation_config.json`` whose EOS is the chat
template's end-of-turn token.

A GGUF file is read by transformers (``from_pretrained(dir, gguf_file=...)``), which dequantizes it
to float. transformers 5.x flags such a model as quantized, and then ``Trainer`` refuses it and
``save_pretrained`` fails; so the weights are moved into a fresh model built with ``from_config``
(no quantization config, no quantizer attached) before saving. The same path is used on 4.57.

The folder is written atomically (a temp folder beside it, then a rename) and reused while its
source is unchanged: ``source.json`` inside records the source's content hash.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Tuple

from ecomlm.runtime.atomic_io import atomic_dir
from ecomlm.runtime.cache import cache_root
from ecomlm.runtime.errors import ModelLoadError

from .hf_tokenizer import declared_chat_template, finish_tokenizer, gguf_tokenizer_fields, plain_fast_tokenizer
from .spm_tokenizer import fast_tokenizer_from_gguf, is_sentencepiece_gguf
from .tokenizer_repair import repair_folder

MARKER = "source.json"
FORMAT = 4  # bump when the written folder changes; older cached folders are rebuilt (4: tokenizer.model)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


def source_path(ref: str | os.PathLike[str]) -> Path:
    """The file or folder a base reference stands for: a registered base name (``base``,
    ``gemma3-270m``: runtime/models.py), a ``.gguf`` file, a folder holding one, or a Hugging Face
    folder; ``ModelLoadError`` naming what to give otherwise."""
    from ecomlm.runtime.models import MODELS

    text = str(ref)
    if text in MODELS and MODELS[text].adapter_dir is None:  # a registered base: base, gemma3-270m
        path = MODELS[text].base.locate()
    else:
        path = Path(text).expanduser()
    if not path.exists():
        raise ModelLoadError(f"base model {text!r} does not exist; give 'base', 'gemma3-270m', a .gguf "
                             f"file or a Hugging Face model folder (with config.json)")
    if path.is_dir() and not (path / "config.json").exists():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) != 1:
            raise ModelLoadError(f"folder {text!r} is not a Hugging Face model (no config.json) and "
                                 f"does not hold exactly one .gguf file")
        path = ggufs[0]
    if path.is_file() and path.suffix != ".gguf":
        raise ModelLoadError(f"{text!r} is a file but not a .gguf file; give a GGUF file or a folder")
    return path.resolve()


def source_hash(path: Path) -> str:
    """SHA-256 over a GGUF file, or over the names and contents of a folder's files."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                   and p.name != MARKER)
    for f in files:
        h.update(f.relative_to(path.parent if path.is_file() else path).as_posix().encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()


def _cached(out_dir: Path, digest: str) -> bool:
    try:
        marker = json.loads((out_dir / MARKER).read_text())
        return marker["sha256"] == digest and marker.get("format") == FORMAT
    except (OSError, ValueError, KeyError):
        return False


def _plain_copy(model: Any, dtype: Any) -> Any:
    """A fresh model of the same architecture holding ``model``'s weights, with no quantizer attached."""
    import torch
    from transformers import AutoModelForCausalLM

    config = model.config
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(config, attr):
            delattr(config, attr)
    state = {k: v.detach().to(dtype) for k, v in model.state_dict().items()}
    plain = AutoModelForCausalLM.from_config(config, dtype=dtype)
    missing, unexpected = plain.load_state_dict(state, strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if unexpected or set(missing) - tied:
        raise ModelLoadError(f"rebuilding the base model lost weights: missing {missing}, "
                             f"unexpected {unexpected}")
    plain.tie_weights()
    plain.eval()
    with torch.no_grad():  # fail loudly rather than ship silent zeros
        if not torch.equal(plain.get_input_embeddings().weight, state[next(k for k in state if "embed_tokens" in k)]):
            raise ModelLoadError("rebuilding the base model: embeddings were not copied")
    return plain


def _build(src: Path, tmp: Path, dtype: Any) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    kwargs = {"gguf_file": src.name} if src.is_file() else {}
    folder = src.parent if src.is_file() else src
    spm = src.is_file() and is_sentencepiece_gguf(src)
    # a SentencePiece GGUF vocabulary (Gemma) is rebuilt as the BPE model it is (spm_tokenizer.py)
    tokenizer = fast_tokenizer_from_gguf(src, tmp) if spm else AutoTokenizer.from_pretrained(folder, **kwargs)
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kwargs)
    if spm and getattr(loaded.config, "model_type", "").startswith("gemma3"):
        # llama.cpp scales Gemma 3 attention by 1/sqrt(head_dim); the GGUF has no query_pre_attn_scalar
        # and transformers' loader leaves its default (256, right only when head_dim is 256)
        loaded.config.query_pre_attn_scalar = loaded.config.head_dim
    model = _plain_copy(loaded, dtype)
    del loaded
    meta = gguf_tokenizer_fields(src) if src.is_file() else None
    if meta is not None and not meta.get("chat_template"):
        meta["chat_template"] = declared_chat_template(src)
    if spm and meta is not None:
        meta.pop("add_bos_token", None)  # the declared chat template writes the BOS itself
    eos_id = finish_tokenizer(tokenizer, meta)
    if src.is_file():
        tokenizer = plain_fast_tokenizer(tokenizer)
    model.config.eos_token_id = eos_id
    model.config.bos_token_id = tokenizer.bos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    try:
        gen = GenerationConfig.from_pretrained(folder)
    except OSError:
        gen = GenerationConfig()
    gen.eos_token_id = eos_id
    gen.pad_token_id = tokenizer.pad_token_id
    if tokenizer.bos_token_id is not None:
        gen.bos_token_id = tokenizer.bos_token_id
    model.generation_config = gen
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    if meta is not None and not spm:
        _repair_gguf_tokenizer(meta, tmp)


def _repair_gguf_tokenizer(meta: dict, folder: Path) -> None:
    """Make the saved tokenizer tokenize as llama.cpp does with the GGUF whose tokenizer fields are
    ``meta`` (its pre-tokenizer included).

    transformers rebuilds a GGUF byte-level vocabulary as a byte-level/SentencePiece hybrid without
    the model's pre-tokenizer (SmolLM2's ``Digits``): training, the merged model and its exports would
    then tokenize some text (``"½"``) unlike llama.cpp. See ``tokenizer_repair.py``.
    """
    pre = meta.get("pre")
    repair_folder(folder, folder, str(pre) if pre else None)


def materialize_base(ref: str | os.PathLike[str] = "base", out_dir: str | os.PathLike[str] | None = None,
                     *, dtype: str = "float32", force: bool = False) -> Path:
    """Write ``ref`` ('base', a .gguf file, or an HF folder) as a plain Hugging Face folder; return it.

    ``out_dir`` is the folder to write; by default ``<cache_root()>/hf/<name>-<hash12>``. A folder
    already there from the same source (same content hash) is reused unless ``force``.
    """
    import torch

    src = source_path(ref)
    digest = source_hash(src)
    name = src.stem if src.is_file() else src.name
    out = Path(out_dir) if out_dir is not None else cache_root() / "hf" / f"{name}-{digest[:12]}"
    if not force and _cached(out, digest):
        return out
    with atomic_dir(out) as tmp:  # a stale folder (other source) or a forced rebuild is replaced
        _build(src, tmp, getattr(torch, dtype))
        marker = {"source": str(src), "sha256": digest, "dtype": dtype, "format": FORMAT}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return out


def load_base_model(ref: str | os.PathLike[str] = "base", dtype: Any = "float32",
                    out_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> Tuple[Any, Any]:
    """``(model, tokenizer)`` for ``ref``, materialized first unless it is a materialized folder.

    ``dtype`` is a torch dtype or its name (``float32`` on CPU, ``bfloat16`` on GPU); ``kwargs`` go
    to ``from_pretrained`` (e.g. ``attn_implementation``).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    src = source_path(ref)
    already = src.is_dir() and (src / MARKER).exists()  # a folder materialize_base wrote
    folder = src if already else materialize_base(ref, out_dir)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **kwargs)
    return model, tokenizer


__all__ = ["FORMAT", "MARKER", "load_base_model", "materialize_base", "source_hash", "source_path"]
