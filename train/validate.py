"""Validation loss: mean loss per assistant token over a corpus, packed as in training.

The trainer's ``val_loss`` log lines and ``ecomlm val-loss`` both come from ``validate``, so the two
numbers are the same computation (same packing, same loss, float64 sums).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Sequence

from .packing import plan_epoch


def validate(wrapper: Any, examples: Sequence[Any], pad_token_id: int, *, max_seq_len: int,
             rows_per_device: int, window: int = 2000, device: Any = "cpu", world_size: int = 1,
             rank: int = 0, accelerator: Any = None) -> float:
    """Loss (nats per assistant token) of ``wrapper`` (a ``PackedCausalLMLoss``) on ``examples``.

    Under accelerate (``accelerator`` given) each process runs its share of the rows and the sums are
    reduced over processes. ``wrapper``'s train/eval mode is restored afterwards.
    """
    import torch

    from .packing import collate

    plan = plan_epoch(examples, max_seq_len, seed=0, epoch=0, rows_per_device=rows_per_device, grad_accum=1,
                      world_size=world_size, drop_last=False, window=window)
    was_training = wrapper.training
    wrapper.eval()
    total = torch.zeros(2, device=device, dtype=torch.float64)
    with torch.no_grad(), (accelerator.autocast() if accelerator is not None else nullcontext()):
        for step in plan:
            rows = step.micro[0][rank]
            if rows:
                batch = {k: v.to(device) for k, v in collate(examples, rows, pad_token_id).items()}
                loss_sum, n = wrapper(**batch)
                total += torch.stack([loss_sum.double(), n.double()])
    wrapper.train(was_training)
    if accelerator is not None:
        total = accelerator.reduce(total, reduction="sum")
    return (total[0] / total[1]).item()
