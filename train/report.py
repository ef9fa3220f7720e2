"""Reading a run's ``log.jsonl``: loss curve (PNG) and a short summary."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from ecomlm.runtime.atomic_io import atomic_write


def read_log(path: str | os.PathLike[str]) -> List[Dict[str, Any]]:
    """Records of a run log; a later record for the same step and kind replaces an earlier one."""
    by_key: Dict[tuple, Dict[str, Any]] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            by_key[(record["step"], "val_loss" in record)] = record
    return [by_key[k] for k in sorted(by_key)]


def plot_loss(log_path: str | os.PathLike[str], out_png: str | os.PathLike[str], title: str = "") -> Path:
    """Train loss per step (and val loss where measured) as a PNG, written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_log(log_path)
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train loss (assistant tokens)", lw=1)
    if val:
        ax.plot(*zip(*val), "o-", label="val loss", lw=1.5)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(title or Path(log_path).parent.name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(out_png)
    try:
        with atomic_write(out, "wb") as f:
            fig.savefig(f, format="png", dpi=110)
    finally:
        plt.close(fig)
    return out
