"""Merging a run's LoRA adapter into its base: a standard Hugging Face folder, checked for parity.

``merge_run(run_dir, out)`` loads the run's base (materialized, cached), applies ``adapter/``,
computes logits on a few chat prompts with the adapter applied, merges (peft ``merge_and_unload``),
computes them again, and writes the merged model (safetensors, tokenizer with chat template,
generation config with the right EOS) plus ``merge_report.json`` (max |logit difference| merged vs
adapter, and vs the plain base so a merge that changed nothing is caught). The folder is written to
a temp folder and renamed.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ecomlm.runtime.atomic_io import atomic_dir
from ecomlm.runtime.errors import EcomError, InvalidInputError

PARITY_PROMPTS = [
    "Extract the brand from this product title: Apple iPhone 13 Pro Max 256GB Graphite",
    "Is this review positive or negative? The battery died after two days.",
    "Which category fits the product 'Nike Air Zoom Pegasus running shoes'? Options: Shoes, Books, Toys",
]


class MergeParityError(EcomError):
    """The merged model's logits differ from the adapter model's beyond the tolerance."""


def _logits(model: Any, batches: List[Any]) -> List[Any]:
    import torch
    with torch.no_grad():
        return [model(input_ids=ids).logits.float() for ids in batches]


def merge_run(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
              prompts: Optional[Sequence[str]] = None, dtype: str = "float32", tol: float = 1e-3) -> Dict[str, Any]:
    """Merge ``run_dir/adapter`` into the run's base and write ``out``; return the merge report."""
    import torch
    from peft import PeftModel

    from .base import load_base_model, materialize_base, source_hash, source_path

    run = Path(run_dir)
    adapter = run / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise InvalidInputError(f"{run} has no finished adapter ({adapter}/adapter_config.json); finish the "
                                f"run with `ecomlm train ... --resume`")
    info = json.loads((run / "run.json").read_text())
    src = source_path(info["base"])
    if source_hash(src) != info["base_sha256"]:
        raise InvalidInputError(f"the run's base {info['base']!r} ({src}) changed since training; merge "
                                f"with the base it was trained on")
    model, tokenizer = load_base_model(info["base"], "float32")
    model.eval()
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                           add_generation_prompt=True) for p in (prompts or PARITY_PROMPTS)]
    batches = [torch.tensor([tokenizer(t, add_special_tokens=False)["input_ids"]]) for t in texts]
    base_logits = _logits(model, batches)
    peft_model = PeftModel.from_pretrained(model, adapter)
    peft_model.eval()
    adapter_logits = _logits(peft_model, batches)
    merged = peft_model.merge_and_unload()
    merged_logits = _logits(merged, batches)
    diff = max((a - m).abs().max().item() for a, m in zip(adapter_logits, merged_logits))
    vs_base = max((b - m).abs().max().item() for b, m in zip(base_logits, merged_logits))
    report = {"run": str(run), "base": info["base"], "base_sha256": info["base_sha256"], "prompts": len(batches),
              "max_abs_logit_diff_merged_vs_adapter": diff, "max_abs_logit_diff_merged_vs_base": vs_base,
              "tolerance": tol, "dtype": dtype}
    if diff > tol:
        raise MergeParityError(f"merged logits differ from the adapter model's by {diff:.3g} > {tol}")
    if vs_base == 0.0:
        raise MergeParityError("the merged model equals the base model: the adapter changed nothing "
                               "(untrained adapter, or the merge did not apply)")
    merged = merged.to(getattr(torch, dtype))
    merged.generation_config.eos_token_id = tokenizer.eos_token_id
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    merged.config.eos_token_id = tokenizer.eos_token_id
    with atomic_dir(out) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        spm = materialize_base(src) / "tokenizer.model"  # a SentencePiece base (Gemma): the converter reads it
        if spm.exists():
            shutil.copy2(spm, tmp / spm.name)
        (tmp / "merge_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def adapter_to_gguf(run_dir: str | os.PathLike[str], out_file: str | os.PathLike[str],
                    outtype: str = "f32") -> Path:
    """The run's LoRA adapter as a GGUF LoRA file (llama.cpp ``--lora``), via llama.cpp's
    ``convert_lora_to_gguf.py`` from the pinned llama-cpp-python sdist (``converter.py``).
    """
    import subprocess
    import sys

    from .base import materialize_base, source_path
    from .converter import ConverterUnavailableError, ensure_converter

    run = Path(run_dir)
    info = json.loads((run / "run.json").read_text())
    converter = ensure_converter()
    script = converter.root / "convert_lora_to_gguf.py"
    if not script.exists():
        raise ConverterUnavailableError(f"{converter.root} holds no convert_lora_to_gguf.py (the cached "
                                        f"converter copy leaves it out); add it to the files taken from the sdist")
    base_dir = materialize_base(source_path(info["base"]))
    target = Path(out_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    cmd = [sys.executable, str(script), str(run / "adapter"), "--base", str(base_dir), "--outfile", str(tmp),
           "--outtype", outtype]
    done = subprocess.run(cmd, env=converter.env(), capture_output=True, text=True)
    if done.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise EcomError(f"convert_lora_to_gguf.py failed: {done.stderr.strip()[-800:]}")
    os.replace(tmp, target)
    return target
