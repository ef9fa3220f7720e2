"""Repair a tokenizer that transformers rebuilt from a GGUF file, so it tokenizes as llama.cpp does.

transformers (4.57) turns a GGUF ``gpt2``-type vocabulary into a ``LlamaTokenizerFast`` whose
``tokenizer.json`` mixes SentencePiece and byte-level parts (``byte_fallback``, a ``Sequence``
decoder with ``ByteFallback``/``Replace``) and drops the pre-tokenizer llama.cpp names in
``tokenizer.ggml.pre``. Two things then go wrong (measured on SmolLM2-135M):

- llama.cpp's converter reads that folder as a SentencePiece-BPE ("llama") vocabulary, and the GGUF
  it writes crashes llama.cpp's tokenizer on non-ASCII text;
- without the ``Digits`` pre-tokenizer of SmolLM2 (``smollm`` in llama.cpp), text such as "½"
  tokenizes differently from the original model.

``repair_tokenizer_json`` rewrites such a ``tokenizer.json`` as a plain GPT-2 byte-level tokenizer,
with the pre-tokenizer that llama.cpp's ``pre`` name stands for; other tokenizers pass unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
#: llama.cpp ``tokenizer.ggml.pre`` -> Hugging Face pre-tokenizer (only those we have checked)
PRE_TOKENIZERS: dict[str, dict[str, Any]] = {
    "smollm": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                     _BYTE_LEVEL]},
    "gpt-2": _BYTE_LEVEL,
}


def _mentions(node: Any, type_name: str) -> bool:
    return f'"type": "{type_name}"' in json.dumps(node)


def needs_repair(data: dict) -> bool:
    """Whether ``tokenizer.json`` content is the GGUF-derived byte-level/SentencePiece hybrid."""
    model = data.get("model") or {}
    return (model.get("type") == "BPE" and bool(model.get("byte_fallback"))
            and _mentions(data.get("pre_tokenizer"), "ByteLevel")
            and (data.get("decoder") or {}).get("type") == "Sequence"
            and _mentions(data.get("decoder"), "ByteLevel"))


def repair_tokenizer_json(data: dict, llama_pre: Optional[str] = None) -> tuple[dict, list[str]]:
    """The repaired content and the list of changes made (empty when nothing needed repair)."""
    if not needs_repair(data):
        return data, []
    data = json.loads(json.dumps(data))
    data["model"]["byte_fallback"] = False
    data["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                       "use_regex": True}
    # the BOS-adding template post-processor comes from the GGUF's add_bos flag, which the original
    # byte-level tokenizers (and llama.cpp's chat prompts) do not use
    data["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                              "use_regex": True}
    changes = ["byte_fallback off", "ByteLevel decoder", "no automatic BOS"]
    if llama_pre in PRE_TOKENIZERS:
        data["pre_tokenizer"] = PRE_TOKENIZERS[llama_pre]
        changes.append(f"pre-tokenizer of llama.cpp {llama_pre!r}")
    return data, changes


def gguf_pre_of(folder: Path) -> Optional[str]:
    """llama.cpp's pre-tokenizer name of the GGUF a materialised folder came from (``source.json``)."""
    try:
        source = Path(json.loads((folder / "source.json").read_text())["source"])
    except (OSError, ValueError, KeyError):
        return None
    if source.suffix != ".gguf" or not source.exists():
        return None
    from llama_cpp import Llama

    llm = Llama(model_path=str(source), vocab_only=True, verbose=False)
    try:
        return llm.metadata.get("tokenizer.ggml.pre")
    finally:
        llm.close()


def repair_folder(src: Path, dest: Path, llama_pre: Optional[str] = None) -> list[str]:
    """Write ``src``'s tokenizer files, repaired, into ``dest``; return the changes (may be empty).

    ``tokenizer_config.json`` names the generic ``PreTrainedTokenizerFast`` (no automatic BOS, as the
    original): transformers 5.x builds a ``GPT2Tokenizer``'s pre-tokenizer from the class, not from
    ``tokenizer.json``, and would drop the ``Digits`` step again.
    """
    data = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    if llama_pre is None and needs_repair(data):
        llama_pre = gguf_pre_of(src)
    fixed, changes = repair_tokenizer_json(data, llama_pre)
    if not changes:
        return []
    (dest / "tokenizer.json").write_text(json.dumps(fixed, ensure_ascii=False), encoding="utf-8")
    config_path = src / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config["add_bos_token"] = False
    config.pop("legacy", None)
    (dest / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2),
                                                encoding="utf-8")
    return changes
