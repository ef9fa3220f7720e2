"""Warm start: begin a run from a saved LoRA adapter's weights (``init_adapter`` in the recipe)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ecomlm.runtime.errors import InvalidInputError


def init_adapter_dir(ref: str) -> Path:
    """The peft adapter folder a warm start reads: ``default`` (the shipped adapter) or a folder
    (a run folder's ``adapter/`` is found too)."""
    if ref == "default":
        from ecomlm.runtime.model_ref import DEFAULT_ADAPTER
        path = DEFAULT_ADAPTER.parent / "adapter"
    else:
        path = Path(ref)
        if (path / "adapter" / "adapter_model.safetensors").exists():
            path = path / "adapter"
    if not (path / "adapter_model.safetensors").exists():
        raise InvalidInputError(f"init_adapter: {str(path)!r} holds no adapter_model.safetensors; give a "
                                f"peft adapter folder, a run folder, or 'default'")
    return path


def load_init_adapter(model: Any, ref: str) -> int:
    """Copy a saved LoRA adapter's weights into ``model`` (a fresh peft model of the same shape);
    return how many tensors were loaded. Raises when a tensor is missing or has another shape."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = init_adapter_dir(ref)
    state = load_file(str(path / "adapter_model.safetensors"))
    own = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    try:
        result = set_peft_model_state_dict(model, {k: v.to(torch.float32) for k, v in state.items()})
    except RuntimeError as e:  # a tensor of another shape (another r)
        raise InvalidInputError(f"init_adapter {str(path)!r} does not fit this LoRA (r, targets): "
                                f"{str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else e}") from None
    missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    unexpected = list(getattr(result, "unexpected_keys", []))
    if missing or unexpected or len(state) != len(own):
        raise InvalidInputError(f"init_adapter {str(path)!r} does not fit this LoRA (r, targets): "
                                f"{len(missing)} tensors missing, {len(unexpected)} unexpected")
    return len(state)
