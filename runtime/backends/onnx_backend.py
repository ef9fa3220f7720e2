"""Models exported to ONNX (``ecomlm export onnx``) on ONNX Runtime, without torch.

The folder holds one decoder graph with a KV cache (optimum's ``text-generation-with-past`` layout:
inputs ``input_ids``, ``attention_mask``, ``position_ids``, ``past_key_values.N.key|value``; outputs
``logits``, ``present.N.key|value``) and the tokenizer files. Decoding is greedy, run here step by
step; closed answer sets are enforced by the token-level automata of ``hf_decoding.py``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import BackendUnavailableError, ModelLoadError
from .base import Backend
from .hf_decoding import HFTokenizer, TokenLevelBackend

#: onnxruntime threads by default: the measured sweet spot on a 2-core laptop CPU
DEFAULT_THREADS = 2


def onnx_model_file(folder: Path) -> Path:
    """The single decoder graph in ``folder`` (``model.onnx`` preferred)."""
    if not folder.is_dir():
        raise ModelLoadError(f"{str(folder)!r} is not a folder; give a folder written by `ecomlm export onnx`")
    if (folder / "model.onnx").exists():
        return folder / "model.onnx"
    files = sorted(folder.glob("*.onnx"))
    if len(files) != 1:
        raise ModelLoadError(f"{str(folder)!r} holds {len(files)} .onnx files; expected model.onnx "
                             f"(export with `ecomlm export onnx`, one folder per quantization)")
    return files[0]


class OnnxBackend(TokenLevelBackend, Backend):
    """A causal LM exported to ONNX, run by onnxruntime on the CPU (spinning threads off)."""

    name = "onnxruntime"

    def __init__(self, model_path: str | os.PathLike[str], *, n_ctx: int = 4096,
                 n_threads: Optional[int] = None, **_: object) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise BackendUnavailableError("onnxruntime is not installed: pip install 'ecomlm[export]'") from e
        folder = Path(model_path)
        graph = onnx_model_file(folder)
        self.tokenizer = HFTokenizer(folder)
        opts = ort.SessionOptions()
        threads = n_threads or DEFAULT_THREADS
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(graph), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"onnxruntime could not load {str(graph)!r}: {e}") from e
        inputs = {i.name: i for i in self.session.get_inputs()}
        self._past_names = [n for n in inputs if n.startswith("past_key_values.")]
        if "input_ids" not in inputs or not self._past_names:
            raise ModelLoadError(f"{str(graph)!r} is not a decoder with a KV cache (inputs: "
                                 f"{', '.join(inputs)}); export with `ecomlm export onnx`")
        self._has_positions = "position_ids" in inputs
        self._has_mask = "attention_mask" in inputs
        first = inputs[self._past_names[0]]
        self._kv_shape = (1, int(first.shape[1]), 0, int(first.shape[3]))
        self._kv_dtype = np.float16 if "float16" in first.type else np.float32
        self._outputs = ["logits"] + [n.replace("past_key_values.", "present.") for n in self._past_names]
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
        self.n_ctx = min(n_ctx, int(config.get("max_position_embeddings") or n_ctx))
        self.source = str(folder)
        self._past: Optional[list[np.ndarray]] = None
        self._setup_decoding()

    def _empty_past(self) -> list[np.ndarray]:
        return [np.zeros(self._kv_shape, dtype=self._kv_dtype) for _ in self._past_names]

    def _run(self, ids: Sequence[int], past: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        n_past = past[0].shape[2]
        n = len(ids)
        feed: dict[str, np.ndarray] = {"input_ids": np.asarray([list(ids)], dtype=np.int64)}
        if self._has_mask:
            feed["attention_mask"] = np.ones((1, n_past + n), dtype=np.int64)
        if self._has_positions:
            feed["position_ids"] = np.arange(n_past, n_past + n, dtype=np.int64)[None, :]
        feed.update(zip(self._past_names, past))
        out = self.session.run(self._outputs, feed)
        return out[0][0], out[1:]

    def _feed(self, ids: Sequence[int]) -> np.ndarray:
        logits, self._past = self._run(ids, self._past if self._past is not None else self._empty_past())
        return logits[-1].astype(np.float32)

    def _crop(self, n: int) -> None:
        if self._past is not None:
            self._past = [p[:, :, :n] for p in self._past] if n else None

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits at every position of ``ids`` (teacher forcing), shape ``[len(ids), vocab]``."""
        logits, _ = self._run(ids, self._empty_past())
        return logits.astype(np.float32)

    def close(self) -> None:
        self.session = None
        self._past = None
