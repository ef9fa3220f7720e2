"""The training forward: decoder -> hidden states at assistant positions -> chunked cross-entropy.

A causal LM's own forward multiplies every position by the 49k-row output matrix and keeps float32
logits for all of them (B x L x 49152 x 4 bytes: 3.2 GB for 8 rows of 2048). Here only the positions
that carry a target are projected, ``chunk`` at a time, each chunk under activation checkpointing
so its logits are recomputed in backward instead of kept: peak extra memory is one chunk's logits.

``PackedCausalLMLoss`` wraps the (peft) model in one ``nn.Module`` so that ``accelerate`` / DDP see a
single forward and synchronise gradients as usual.
"""
from __future__ import annotations

from typing import Any, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .chat_tokens import IGNORE


def _chunk_loss(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = F.linear(hidden, weight).float()
    return F.cross_entropy(logits, targets, reduction="sum")


def chunked_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                          chunk: int = 2048) -> torch.Tensor:
    """Summed cross-entropy of ``hidden @ weight.T`` against ``targets`` (N x H, V x H, N), chunked."""
    total = hidden.new_zeros((), dtype=torch.float32)
    for s in range(0, hidden.shape[0], chunk):
        h, t = hidden[s:s + chunk], targets[s:s + chunk]
        if torch.is_grad_enabled() and (h.requires_grad or weight.requires_grad):
            total = total + checkpoint(_chunk_loss, h, weight, t, use_reentrant=False)
        else:
            total = total + _chunk_loss(h, weight, t)
    return total


def causal_lm_parts(model: Any) -> Tuple[nn.Module, nn.Module]:
    """(decoder, lm_head) of a causal LM, through a peft wrapper if there is one."""
    inner = model
    if hasattr(inner, "get_base_model"):  # peft PeftModel
        inner = inner.get_base_model()
    decoder = inner.get_decoder() if hasattr(inner, "get_decoder") else inner.model
    return decoder, inner.get_output_embeddings()


class PackedCausalLMLoss(nn.Module):
    """``forward(input_ids, position_ids, labels) -> (summed loss, number of target tokens)``."""

    def __init__(self, model: nn.Module, chunk: int = 2048) -> None:
        super().__init__()
        self.model = model
        self.chunk = chunk

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor,
                labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        decoder, head = causal_lm_parts(self.model)
        hidden = decoder(input_ids=input_ids, position_ids=position_ids, attention_mask=None,
                         use_cache=False).last_hidden_state
        mask = labels != IGNORE
        selected = hidden[mask]
        loss = chunked_cross_entropy(selected, head.weight, labels[mask], self.chunk)
        return loss, mask.sum()
