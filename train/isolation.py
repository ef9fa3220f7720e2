"""The check that packed examples cannot see each other (position-id resets honoured by attention)."""
from __future__ import annotations

from typing import Any, List


def check_packing_isolation(model: Any, examples: List[Any], device: Any, tol: float) -> float:
    """Hidden states of examples packed in one row vs each alone; raise if they differ beyond ``tol``.

    Returns the largest relative difference (0 up to float noise when isolation holds).
    """
    import torch

    from .loss import causal_lm_parts
    from .packing import collate

    decoder, _ = causal_lm_parts(model)
    was_training = model.training
    model.eval()
    worst = 0.0
    with torch.no_grad():
        packed = collate(examples, [list(range(len(examples)))], 0)
        hidden = decoder(input_ids=packed["input_ids"].to(device), position_ids=packed["position_ids"].to(device),
                         attention_mask=None, use_cache=False).last_hidden_state[0].float()
        at = 0
        for i, e in enumerate(examples):
            alone = collate(examples, [[i]], 0)
            h = decoder(input_ids=alone["input_ids"].to(device), position_ids=alone["position_ids"].to(device),
                        attention_mask=None, use_cache=False).last_hidden_state[0].float()
            part = hidden[at:at + len(e)]
            worst = max(worst, ((part - h).norm(dim=-1) / h.norm(dim=-1).clamp_min(1e-6)).max().item())
            at += len(e)
    model.train(was_training)
    if worst > tol:
        raise RuntimeError(f"packed examples influence each other (relative hidden-state difference "
                           f"{worst:.3g} > {tol}): this transformers version / attention kernel does not "
                           f"honour position-id resets; set attn_implementation to sdpa or flash_attention_2")
    return worst
