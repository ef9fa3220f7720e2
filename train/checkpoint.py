"""Checkpoints that a run resumes from exactly: trainable weights, optimizer, scheduler, RNG, position.

Only the trainable (LoRA) parameters are saved, not the frozen base. A checkpoint is written to a
temp folder and renamed to ``checkpoint-NNNNNNN`` (``atomic_dir``: a checkpoint of the same step is
moved aside, not deleted, before the rename), so an interrupted write leaves the previous one
intact; older ones beyond ``keep`` are deleted.

Nothing in a checkpoint is a pickle: weights are safetensors, and the optimizer, scheduler and RNG
states are safetensors + JSON (``safe_state.py``), so resuming from a checkpoint of unknown origin
runs no code. Checkpoints of older versions (``optimizer.pt`` ...) are read with
``torch.load(weights_only=True)`` and an allowlist of the numpy types of an RNG state; a file that
needs anything else is refused, not unpickled.
"""
from __future__ import annotations

import json
import pickle
import random
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

from ecomlm.runtime.atomic_io import atomic_dir
from ecomlm.runtime.errors import InvalidInputError

from .safe_state import has_state, load_state, save_state

PREFIX = "checkpoint-"


def checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    found = [p for p in Path(run_dir).glob(f"{PREFIX}*") if p.is_dir() and (p / "state.json").exists()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def latest_checkpoint(run_dir: Path) -> Optional[Path]:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def finished_state(run_dir: Path) -> Optional[Dict[str, Any]]:
    """The last checkpoint's state when the run is complete (final step reached and the adapter
    written), else ``None``: resuming it has nothing left to do."""
    ckpt = latest_checkpoint(run_dir)
    if ckpt is None or not (Path(run_dir) / "adapter").is_dir():
        return None
    state = json.loads((ckpt / "state.json").read_text())
    total = state.get("total_steps")
    return state if total is not None and state.get("step", 0) >= total else None


def rng_state() -> Dict[str, Any]:
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: Any) -> Dict[str, Any]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(run_dir: Path, step: int, *, model: Any, optimizer: Any, scheduler: Any,
                    state: Dict[str, Any], rank_rng: Dict[int, Dict[str, Any]], keep: int = 2) -> Path:
    """Write ``checkpoint-<step>`` atomically (main process only); ``rank_rng`` maps rank -> RNG state."""
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    final = run_dir / f"{PREFIX}{step:07d}"
    with atomic_dir(final) as tmp:  # an existing checkpoint of this step is replaced by renames only
        save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
        save_state(optimizer.state_dict(), tmp, "optimizer")
        save_state(scheduler.state_dict(), tmp, "scheduler")
        for rank, rng in rank_rng.items():
            save_state(rng, tmp, f"rng_{rank}")
        (tmp / "state.json").write_text(json.dumps(dict(state, step=step), indent=2) + "\n")
    for old in checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, *, model: Any, optimizer: Any, scheduler: Any, rank: int) -> Dict[str, Any]:
    """Restore weights, optimizer, scheduler and this rank's RNG from ``path``; return its state."""
    import torch
    from safetensors.torch import load_file

    path = Path(path)
    saved = load_file(str(path / "trainable.safetensors"))
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in saved]
    if missing or set(saved) - set(params):
        raise RuntimeError(f"checkpoint {path} does not match the model (missing {missing[:3]}, "
                           f"unexpected {sorted(set(saved) - set(params))[:3]}); was the recipe changed?")
    with torch.no_grad():
        for name, value in saved.items():
            params[name].copy_(value)
    optimizer.load_state_dict(_read_state(path, "optimizer"))
    scheduler.load_state_dict(_read_state(path, "scheduler"))
    if has_state(path, f"rng_{rank}") or (path / f"rng_{rank}.pt").exists():
        set_rng_state(_read_state(path, f"rng_{rank}"))
    return json.loads((path / "state.json").read_text())


def _read_state(path: Path, name: str) -> Any:
    """``name`` of checkpoint ``path``: safetensors + JSON, or a legacy ``.pt`` read without pickle."""
    if has_state(path, name):
        return load_state(path, name)
    legacy = path / f"{name}.pt"
    if not legacy.exists():
        raise InvalidInputError(f"checkpoint {path} has no {name} state ({name}.json); it is incomplete, "
                                f"resume from another checkpoint or start the run again")
    import numpy as np
    import torch
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    allow = [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]
    try:
        with torch.serialization.safe_globals(allow):
            return torch.load(legacy, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError) as e:
        raise InvalidInputError(
            f"{legacy} is an old-style pickle that holds more than tensors, numbers and numpy arrays; "
            f"it was not loaded, since unpickling it could run code ({str(e).splitlines()[0][:200]}). "
            f"Start the run again without --resume") from None
