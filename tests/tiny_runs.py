"""What the tests that train tiny models on CPU share: an isolated cache folder and one torch thread
for the duration of a fixture (both restored afterwards), and a small LoRA recipe to override."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest


@contextmanager
def tiny_training(root: Path) -> Iterator[None]:
    """``ECOMLM_CACHE`` under ``root`` and torch on one thread, until the block ends."""
    import torch

    mp = pytest.MonkeyPatch()
    mp.setenv("ECOMLM_CACHE", str(root / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        mp.undo()


def tiny_config(r: int = 8, **overrides: Any):
    """A ``TrainConfig`` that makes a tiny model learn in a few steps (rank ``r``, alpha 2r, no
    dropout, 128-token rows, lr 2e-2, 6 steps, no evaluation or checkpoints unless overridden)."""
    from ecomlm.train.config import LoraSettings, TrainConfig

    settings: dict[str, Any] = dict(lora=LoraSettings(r=r, alpha=2 * r, dropout=0.0), max_seq_len=128,
                                    rows_per_device=4, lr=2e-2, warmup_steps=1, max_steps=6, eval_every=0,
                                    save_every=0)
    settings.update(overrides)
    return TrainConfig(**settings)
