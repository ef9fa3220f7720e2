"""Hugging Face models on PyTorch (CPU): the reference the exported artifacts are checked against.

Constraints are enforced by the same token-level automata as the ONNX backend
(``hf_decoding.py``), so answers are as guaranteed-valid as with llama.cpp's grammars.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import ModelLoadError
from .base import Backend
from .hf_decoding import HFTokenizer, TokenLevelBackend


def check_hf_folder(path: Path) -> dict:
    """The folder's ``config.json``; ``ModelLoadError`` when ``path`` is not a causal-LM folder."""
    if not path.is_dir():
        raise ModelLoadError(f"{str(path)!r} is not a folder; give a Hugging Face model folder "
                             f"(config.json, weights, tokenizer)")
    try:
        config = json.loads((path / "config.json").read_text())
    except FileNotFoundError:
        raise ModelLoadError(f"{str(path)!r} has no config.json: not a Hugging Face model folder") from None
    except ValueError as e:
        raise ModelLoadError(f"{path / 'config.json'} is not valid JSON: {e}") from e
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ModelLoadError(f"{str(path)!r} has a config.json but no weights (*.safetensors)")
    return config


class TorchBackend(TokenLevelBackend, Backend):
    """A Hugging Face causal LM on PyTorch, float32 on the CPU."""

    name = "torch"

    def __init__(self, model_path: str | os.PathLike[str], *, n_ctx: int = 4096,
                 n_threads: Optional[int] = None, dtype: str = "float32", **_: object) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        path = Path(model_path)
        config = check_hf_folder(path)
        self.tokenizer = HFTokenizer(path)
        if n_threads:
            torch.set_num_threads(n_threads)
        try:
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
        except (OSError, ValueError, KeyError) as e:
            raise ModelLoadError(f"transformers could not load {str(path)!r}: {e}") from e
        self.model.eval()
        self._torch = torch
        self.n_ctx = min(n_ctx, int(config.get("max_position_embeddings") or n_ctx))
        self.source = str(path)
        self._cache = None
        self._setup_decoding()

    def _feed(self, ids: Sequence[int]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([list(ids)]), past_key_values=self._cache,
                             use_cache=True)
        self._cache = out.past_key_values
        return out.logits[0, -1].float().numpy()

    def _crop(self, n: int) -> Optional[bool]:
        if self._cache is not None:
            if n == 0:
                self._cache = None
                return None
            try:
                self._cache.crop(n)
            except (ValueError, RuntimeError):
                # a sliding-window layer (Gemma 3) past its window cannot be cut back: transformers
                # 4.57 says so with ValueError, 5.x with RuntimeError; a dropped cache is only slower
                self._cache = None
                return False
        return None

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits at every position of ``ids`` (teacher forcing), shape ``[len(ids), vocab]``."""
        torch = self._torch
        with torch.inference_mode():
            return self.model(input_ids=torch.tensor([list(ids)])).logits[0].float().numpy()

    def close(self) -> None:
        self.model = None
        self._cache = None
