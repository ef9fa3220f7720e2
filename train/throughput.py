"""A finished run's ``report.json`` (tokens/s, peak memory, MFU) and its loss curve ``loss.png``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ecomlm.runtime.atomic_io import atomic_write

# Dense bf16 tensor-core peak of common cards (FLOP/s), for MFU. Matched on the device name.
PEAK_BF16_FLOPS = {"H200": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
                   "L40S": 362e12, "A10G": 125e12, "L4": 121e12, "RTX 4090": 165e12}


def flops_per_token(config_hf: Any, mean_len: float) -> float:
    """Model FLOPs per trained token (PaLM convention): 6 x matmul params + attention."""
    h, layers = config_hf.hidden_size, config_hf.num_hidden_layers
    heads, kv = config_hf.num_attention_heads, getattr(config_hf, "num_key_value_heads", config_hf.num_attention_heads)
    head_dim = getattr(config_hf, "head_dim", None) or h // heads
    inter, vocab = config_hf.intermediate_size, config_hf.vocab_size
    per_layer = h * heads * head_dim * 2 + h * kv * head_dim * 2 + 3 * h * inter
    matmul_params = layers * per_layer + vocab * h
    return 6 * matmul_params + 6 * layers * heads * head_dim * mean_len  # causal: half of 12*L*d*T


def peak_flops(device_name: str) -> Optional[float]:
    """The card's dense bf16 peak (FLOP/s), or ``None`` for a card not in ``PEAK_BF16_FLOPS``."""
    for key, value in PEAK_BF16_FLOPS.items():
        if key in device_name:
            return value
    return None


def peak_memory_gb(cuda: bool) -> float:
    """Peak GPU memory allocated by torch, or the process's peak RSS on CPU (GiB)."""
    import torch
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**30
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)


def measured_totals(bench: Sequence[Tuple[float, int]],
                    before: Tuple[float, int, int] = (0.0, 0, 0)) -> Tuple[float, int, int]:
    """(seconds, tokens, steps) measured over this process's steps ``bench`` ((seconds, tokens) per
    step; its first 3 are warm-up when there are more than 6), added to ``before``: what earlier
    processes of the same run measured up to the checkpoint this one resumed from."""
    measured = bench[3:] if len(bench) > 6 else bench
    return (before[0] + sum(b[0] for b in measured), before[1] + sum(b[1] for b in measured),
            before[2] + len(measured))


def write_report(run_dir: Path, bench: Sequence[Tuple[float, int]], model: Any, examples: List[Any], cuda: bool,
                 world: int, precision: str, val_loss: Optional[float], last_loss: Optional[float],
                 bench_before: Tuple[float, int, int] = (0.0, 0, 0), segments: int = 1) -> Dict[str, Any]:
    """report.json: real tokens/s (after 3 warm-up steps of each process), peak memory, MFU where the
    card is known.

    ``bench`` holds (seconds, tokens) per step of this process; ``bench_before`` what the earlier
    processes of a resumed run measured (``measured_totals``), ``segments`` how many processes
    ran it in turn (1 + the number of resumes); ``model`` is the peft model (its base's config gives
    the FLOPs per token). Peak memory is this process's."""
    import torch

    seconds, tokens, steps = measured_totals(bench, bench_before)
    tps = tokens / seconds if seconds else None
    device = torch.cuda.get_device_name() if cuda else "cpu"
    mean_len = sum(len(e) for e in examples) / max(len(examples), 1)
    fpt = flops_per_token(model.get_base_model().config, mean_len)
    peak = peak_flops(device) if cuda and precision == "bf16" else None
    report = {"device": device, "processes": world, "precision": precision,
              "steps_measured": steps, "segments": segments, "tokens_per_s": round(tps, 1) if tps else None,
              "tokens_per_s_per_device": round(tps / world, 1) if tps else None,
              "peak_memory_gb": round(peak_memory_gb(cuda), 2),
              "peak_memory_kind": "torch.cuda.max_memory_allocated" if cuda else "process max RSS",
              "model_flops_per_token": fpt,
              "mfu": round(tps * fpt / (peak * world), 4) if tps and peak else None,
              "mfu_note": "6 x matmul params + causal attention per token (PaLM convention), over the "
                          "card's dense bf16 peak; LoRA skips base weight gradients, so hardware FLOPs are ~2/3",
              "final_train_loss": last_loss, "final_val_loss": val_loss}
    with atomic_write(run_dir / "report.json") as f:
        json.dump(report, f, indent=2)
    return report


def try_plot(log_path: Path, out_png: Path) -> None:
    """The loss curve, unless matplotlib is missing (a bare GPU box): the run is done either way, and
    ``ecomlm ship`` (or ``train.report.plot_loss``) draws it later from ``log.jsonl``."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        print(f"[train] matplotlib is not installed: {out_png.name} not drawn (ship draws it from log.jsonl)")
        return
    from .report import plot_loss
    plot_loss(log_path, out_png)
