"""Adapter soups: one LoRA adapter whose update is a weighted sum of finished runs' updates.

Runs fine-tuned from the same base often fail in different places (round 5 of the CPU rounds is
strong on review topic and Reddit QA, the GPU run on span detection and NER). Averaging their weight
updates (a "model soup") is a cheap way to keep both. The sum is exact, not an approximation: peft's
``add_weighted_adapter(combination_type="cat")`` stacks the runs' LoRA factors, so the soup's rank is
the sum of theirs and its update is ``sum_i w_i * B_i A_i * scale_i`` for every target module.

The soup is written as a run folder (``adapter/``, ``run.json``, ``config.yaml``) that ``ecomlm
ship``, ``ecomlm merge`` and ``ecomlm export`` take like any finished run.
"""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ecomlm.runtime.atomic_io import atomic_dir
from ecomlm.runtime.errors import InvalidInputError

#: files of an adapter folder that belong to peft; the rest (tokenizer files) is copied as it is
PEFT_FILES = ("adapter_model.safetensors", "adapter_config.json", "README.md")


def _run_info(run: Path) -> dict:
    if not (run / "adapter" / "adapter_config.json").exists():
        raise InvalidInputError(f"{run} has no finished adapter ({run / 'adapter'}/adapter_config.json); give "
                                f"finished run folders (ecomlm train --out) or shipped adapter folders")
    if not (run / "run.json").exists():
        raise InvalidInputError(f"{run} has no run.json, so its base is unknown; give a run folder")
    return json.loads((run / "run.json").read_text())


def check_soup_inputs(runs: Sequence[Path], weights: Optional[Sequence[float]]) -> Tuple[List[float], List[dict]]:
    """The weights (equal ones when ``weights`` is None) and the runs' ``run.json``; raises unless
    the runs share one base."""
    if len(runs) < 2:
        raise InvalidInputError(f"a soup needs at least two runs, got {len(runs)}")
    weights = [1.0 / len(runs)] * len(runs) if weights is None else [float(w) for w in weights]
    if len(weights) != len(runs):
        raise InvalidInputError(f"{len(weights)} weights for {len(runs)} runs; give one weight per run")
    if not all(math.isfinite(w) for w in weights):
        raise InvalidInputError(f"weights must be finite numbers, got {weights}")
    infos = [_run_info(r) for r in runs]
    hashes = {i.get("base_sha256") for i in infos}
    if len(hashes) != 1:
        listing = ", ".join(f"{r}: {i.get('base')} ({str(i.get('base_sha256'))[:12]})" for r, i in zip(runs, infos))
        raise InvalidInputError(f"the runs were trained on different bases ({listing}); a soup adds updates "
                                f"of one base only")
    return weights, infos


def soup_runs(runs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
              weights: Optional[Sequence[float]] = None) -> Path:
    """Write a run folder at ``out`` whose adapter's update is ``sum_i weights[i] * update(runs[i])``
    (equal weights by default); return ``out``. Refuses an existing ``out``."""
    import torch
    import yaml
    from peft import PeftModel

    from ecomlm.source.base import load_base_model

    runs = [Path(r) for r in runs]
    weights, infos = check_soup_inputs(runs, weights)
    target = Path(out)
    if target.exists():
        raise InvalidInputError(f"{target} exists; choose another --out")
    info = infos[0]
    model, _ = load_base_model(info["base"], "float32")
    names = [f"run{i}" for i in range(len(runs))]
    peft_model = PeftModel.from_pretrained(model, runs[0] / "adapter", adapter_name=names[0])
    for name, run in zip(names[1:], runs[1:]):
        peft_model.load_adapter(run / "adapter", adapter_name=name)
    with torch.no_grad():
        peft_model.add_weighted_adapter(names, weights, "soup", combination_type="cat")
    peft_model.set_adapter("soup")
    for name in names:
        peft_model.delete_adapter(name)
    with atomic_dir(target) as tmp:
        peft_model.save_pretrained(tmp / "saved", selected_adapters=["soup"])
        saved = tmp / "saved" / "soup"  # peft writes a non-default adapter into a subfolder
        (tmp / "adapter").mkdir()
        for name in ("adapter_model.safetensors", "adapter_config.json"):
            shutil.move(str(saved / name), str(tmp / "adapter" / name))
        shutil.rmtree(tmp / "saved")
        for run in runs:  # the tokenizer files the runs were trained with (a shipped folder has none)
            for item in (run / "adapter").iterdir():
                if item.is_file() and item.name not in PEFT_FILES and not (tmp / "adapter" / item.name).exists():
                    shutil.copy2(item, tmp / "adapter" / item.name)
        adapter_config = json.loads((tmp / "adapter" / "adapter_config.json").read_text())
        soup_info = dict(info, soup={"runs": [str(r) for r in runs], "weights": weights,
                                     "combination": "peft add_weighted_adapter, cat (exact weighted sum)",
                                     "r": adapter_config["r"], "lora_alpha": adapter_config["lora_alpha"]})
        (tmp / "run.json").write_text(json.dumps(soup_info, indent=2) + "\n")
        config_path = runs[0] / "config.yaml"
        config = (yaml.safe_load(config_path.read_text()) or {}) if config_path.exists() else {}
        config["lora"] = dict(config.get("lora") or {}, r=adapter_config["r"], alpha=adapter_config["lora_alpha"])
        config["soup_of"] = [str(r) for r in runs]
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target
