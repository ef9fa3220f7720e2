"""Sequence packing without cross-contamination, and the deterministic step plan.

Several examples share one row of ``max_seq_len`` tokens. Each example's ``position_ids`` restart at
0 and no ``attention_mask`` is passed: transformers (>= 4.56; 5.x) then derives a block-diagonal
causal mask from the position resets (``masking_utils.find_packed_sequence_indices``; only when
``use_cache=False``: with a KV cache the resets are ignored) for the
``sdpa``/``eager``/``flex_attention`` kernels, and ``flash_attention_2`` runs varlen attention over the
same boundaries (``prepare_fa_kwargs_from_position_ids``). Targets are shifted inside each example
(chat_tokens), so no loss crosses a boundary. The trainer checks isolation on real data at start
(``check_packing_isolation``) so a transformers version that ignored the resets would fail loudly.

The plan of every epoch (which examples fill which row, which rows make which step) depends only on
the seed and the epoch, so a resumed run rebuilds it and continues from the saved step.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence

from .chat_tokens import IGNORE, TokenizedExample

Row = List[int]  # indices of the examples packed in one row


def pack_rows(lengths: Sequence[int], max_len: int, *, seed: int, window: int = 2000) -> List[Row]:
    """Shuffle examples, then first-fit-decreasing within windows of ``window`` examples."""
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    rows: List[Row] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: -lengths[i])
        bins: List[Row] = []
        room: List[int] = []
        for i in chunk:
            n = lengths[i]
            for b, free in enumerate(room):
                if n <= free:
                    bins[b].append(i)
                    room[b] -= n
                    break
            else:
                bins.append([i])
                room.append(max_len - n)
        random.Random(seed * 1_000_003 + start).shuffle(bins)
        rows.extend(bins)
    return rows


@dataclass
class Step:
    """One optimizer step: ``micro[k][rank]`` is the rows one device runs in micro-batch ``k``."""

    micro: List[List[List[Row]]]
    n_tokens: int       # real (non-pad) tokens over all devices
    n_targets: int      # assistant target tokens over all devices (the loss denominator)


def plan_epoch(examples: Sequence[TokenizedExample], max_len: int, *, seed: int, epoch: int,
               rows_per_device: int, grad_accum: int, world_size: int, window: int = 2000,
               drop_last: bool = True) -> List[Step]:
    """The steps of one epoch. With ``drop_last`` a final step that would be short is left out."""
    lengths = [len(e) for e in examples]
    rows = pack_rows(lengths, max_len, seed=seed + epoch, window=window)
    per_step = rows_per_device * grad_accum * world_size
    steps = []
    for s in range(0, len(rows), per_step):
        block = rows[s:s + per_step]
        if drop_last and len(block) < per_step and steps:
            break
        micro = []
        for k in range(grad_accum):
            sub = block[k * rows_per_device * world_size:(k + 1) * rows_per_device * world_size]
            micro.append([sub[r::world_size] for r in range(world_size)])
        n_tokens = sum(lengths[i] for row in block for i in row)
        n_targets = sum(examples[i].n_targets for row in block for i in row)
        steps.append(Step(micro, n_tokens, n_targets))
    return steps


def collate(examples: Sequence[TokenizedExample], rows: Sequence[Row], pad_id: int) -> Dict[str, Any]:
    """Tensors for rows of packed examples: ``input_ids``, ``position_ids``, ``labels`` (B x L).

    Rows are right-padded to the longest row; padding has its own positions and no loss.
    """
    import torch

    width = max((sum(len(examples[i]) for i in row) for row in rows), default=1)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            e = examples[i]
            n = len(e)
            ids[r, at:at + n] = torch.tensor(e.input_ids)
            labels[r, at:at + n] = torch.tensor(e.targets)
            pos[r, at:at + n] = torch.arange(n)
            at += n
        pos[r, at:] = torch.arange(width - at)
    return {"input_ids": ids, "position_ids": pos, "labels": labels}
