"""Python state (optimizer, scheduler, RNG) saved as safetensors + JSON: loading runs no code.

``torch.load`` of a pickle can run any code the file's author wrote; a checkpoint copied from
elsewhere must never be able to. ``save_state(obj, folder, name)`` writes ``name.json`` (the
structure: dicts, lists, tuples, numbers, strings, booleans, ``None``, numpy arrays as lists) and
``name.safetensors`` (every torch tensor, by key); ``load_state`` reads them back to equal objects
(int dict keys, tuples and numpy arrays come back as they were). Nothing else can be expressed, so
nothing else can be loaded.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

_TAG = "__ecomlm__"


def _encode(obj: Any, tensors: dict[str, Any]) -> Any:
    import numpy as np
    import torch

    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {_TAG: "tensor", "key": key}
    if isinstance(obj, np.ndarray):
        return {_TAG: "ndarray", "dtype": str(obj.dtype), "shape": list(obj.shape),
                "data": obj.ravel().tolist()}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), tensors)
    if isinstance(obj, float) and not math.isfinite(obj):
        return {_TAG: "float", "repr": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {_TAG: "tuple", "items": [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k != _TAG for k in obj):
            return {k: _encode(v, tensors) for k, v in obj.items()}
        return {_TAG: "dict", "items": [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    raise TypeError(f"cannot save a {type(obj).__name__} without pickle: {obj!r:.80}")


def _decode(obj: Any, tensors: dict[str, Any]) -> Any:
    import numpy as np

    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get(_TAG)
    if tag is None:
        return {k: _decode(v, tensors) for k, v in obj.items()}
    if tag == "tensor":
        return tensors[obj["key"]]
    if tag == "ndarray":
        return np.asarray(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
    if tag == "float":
        return float(obj["repr"])
    if tag == "tuple":
        return tuple(_decode(v, tensors) for v in obj["items"])
    if tag == "dict":
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["items"]}
    raise ValueError(f"unknown entry {tag!r} in a saved state")


def save_state(obj: Any, folder: Path, name: str) -> None:
    """Write ``obj`` as ``folder/name.json`` (+ ``folder/name.safetensors`` when it holds tensors)."""
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    structure = _encode(obj, tensors)
    if tensors:
        save_file(tensors, str(Path(folder) / f"{name}.safetensors"))
    (Path(folder) / f"{name}.json").write_text(json.dumps(structure) + "\n")


def has_state(folder: Path, name: str) -> bool:
    return (Path(folder) / f"{name}.json").exists()


def load_state(folder: Path, name: str) -> Any:
    """The object ``save_state`` wrote as ``name`` in ``folder``."""
    from safetensors.torch import load_file

    folder = Path(folder)
    tensor_file = folder / f"{name}.safetensors"
    tensors = load_file(str(tensor_file)) if tensor_file.exists() else {}
    return _decode(json.loads((folder / f"{name}.json").read_text()), tensors)


__all__ = ["has_state", "load_state", "save_state"]
