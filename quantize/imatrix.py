"""Importance matrices for llama.cpp's quantizer: which input columns of each weight matter.

llama.cpp rounds a weight row to fewer bits by minimising an error weighted per input column; given an
importance matrix (the mean square of each column's input activation over some text) it spends the
precision where activations are large. ``llama-imatrix`` collects one with llama.cpp; this module
collects the same quantity with PyTorch forward hooks on the Hugging Face model an export starts from,
over the chat-formatted records of an ``ecomlm data build`` corpus (the prompts the model will see),
names each entry after its GGUF tensor (gguf-py's tensor map), and hands it to
``llama_model_quantize`` (``gguf_export.quantize``).

    m = collect(hf_dir, "corpus/train.jsonl", limit=256)
    m.save(Path("imatrix.gguf"))            # llama.cpp's GGUF imatrix format (llama-quantize --imatrix)
    quantize(f16_file, out_file, "iq4_nl", imatrix=m)

What it buys depends on the model and the type: measured on the shipped model in quantize/EXPORT.md
(``python -m ecomlm.quantize.corpus_parity``).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecomlm.runtime.errors import InvalidInputError

#: tokens of one calibration record at most (longer records are cut: the statistics are per token)
MAX_RECORD_TOKENS = 1024
#: Hugging Face model types whose GGUF architecture name differs from the model type
_ARCH_ALIASES = {"gemma3_text": "gemma3"}


@dataclass
class ImportanceMatrix:
    """Per GGUF weight tensor, the sum over tokens of each input column's activation squared
    (float32) and the token count: llama.cpp's own form, so that a saved matrix reads back equal."""

    sums: dict[str, np.ndarray]
    counts: dict[str, int]
    dataset: str

    @classmethod
    def from_means(cls, means: dict[str, np.ndarray], dataset: str) -> "ImportanceMatrix":
        """A matrix given directly by its per-column means (one token each)."""
        return cls({n: np.asarray(m, dtype=np.float32) for n, m in means.items()}, dict.fromkeys(means, 1), dataset)

    @property
    def entries(self) -> dict[str, np.ndarray]:
        """What llama.cpp weights the rounding by: per tensor, each column's mean square."""
        return {n: (s / np.float32(max(self.counts[n], 1))).astype(np.float32) for n, s in self.sums.items()}

    @property
    def n_tokens(self) -> int:
        return max(self.counts.values(), default=0)

    def sha256(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.entries):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.entries[name], dtype=np.float32).tobytes())
        return h.hexdigest()

    def describe(self) -> dict[str, Any]:
        """What a manifest records about the matrix."""
        return {"dataset": self.dataset, "tokens": self.n_tokens, "tensors": len(self.entries),
                "sha256": self.sha256()}

    def save(self, path: Path) -> None:
        """Write llama.cpp's GGUF imatrix format (``<tensor>.in_sum2`` and ``<tensor>.counts``), so
        that ``llama-quantize --imatrix`` reads it too; written to a temp file, then renamed."""
        import gguf

        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        w = gguf.GGUFWriter(str(tmp), arch="imatrix")
        w.add_type(gguf.GGUFType.IMATRIX)
        w.add_array(gguf.Keys.IMatrix.DATASETS, [self.dataset])
        w.add_uint32(gguf.Keys.IMatrix.CHUNK_COUNT, 1)
        w.add_uint32(gguf.Keys.IMatrix.CHUNK_SIZE, self.n_tokens)
        for name in sorted(self.sums):
            w.add_tensor(f"{name}.in_sum2", np.ascontiguousarray(self.sums[name], dtype=np.float32))
            w.add_tensor(f"{name}.counts", np.array([self.counts[name]], dtype=np.float32))
        try:
            try:
                w.write_header_to_file()
                w.write_kv_data_to_file()
                w.write_tensors_to_file()
            finally:
                w.close()
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> "ImportanceMatrix":
        """Read a GGUF imatrix (this module's or ``llama-imatrix``'s)."""
        import gguf

        try:
            reader = gguf.GGUFReader(str(path))
        except Exception as e:  # noqa: BLE001 - gguf-py raises plain ValueError/struct errors
            raise InvalidInputError(f"{str(path)!r} is not a GGUF importance matrix ({e})") from None
        sums, counts = {}, {}
        for t in reader.tensors:
            if t.name.endswith(".in_sum2"):
                sums[t.name[:-len(".in_sum2")]] = np.array(t.data, dtype=np.float32).reshape(-1)
            elif t.name.endswith(".counts"):
                counts[t.name[:-len(".counts")]] = round(float(np.array(t.data).reshape(-1)[0]))
        if not sums or set(sums) != set(counts):
            raise InvalidInputError(f"{str(path)!r} holds no importance matrix (.in_sum2/.counts tensors)")
        field_ = reader.get_field(gguf.Keys.IMatrix.DATASETS)
        dataset = str(field_.contents()[0]) if field_ is not None and field_.contents() else path.name
        return cls(sums, counts, dataset)


def gguf_tensor_map(model_type: str, n_layers: int) -> Any:
    """gguf-py's Hugging Face -> GGUF tensor-name map for ``model_type`` (clear error if unknown)."""
    import gguf

    arch_name = _ARCH_ALIASES.get(model_type, model_type)
    arch = next((a for a, name in gguf.MODEL_ARCH_NAMES.items() if name == arch_name), None)
    if arch is None:
        raise InvalidInputError(f"no GGUF architecture named {arch_name!r} in gguf-py: an importance "
                                f"matrix cannot name this model's tensors; export without --imatrix")
    return gguf.get_tensor_name_map(arch, n_layers)


def calibration_ids(tokenizer: Any, data: Path, limit: int, seed: int = 0) -> list[list[int]]:
    """Token ids of ``limit`` records of a corpus JSONL (a seeded sample), each rendered with the
    model's chat template as training renders it (``ecomlm.source.corpus``)."""
    from ecomlm.source.corpus import sample_corpus, tokenize_messages

    return [tokenize_messages(tokenizer, r["messages"]).input_ids[:MAX_RECORD_TOKENS]
            for r in sample_corpus(data, limit, seed=seed)]


def collect(hf_dir: Path, data: Path, limit: int = 256, threads: int = 2,
            progress: bool = True) -> ImportanceMatrix:
    """The importance matrix of the Hugging Face model in ``hf_dir`` over ``limit`` records of the
    corpus ``data``: for every linear layer, the mean over tokens of each input column squared."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(max(1, threads))
    tokenizer = AutoTokenizer.from_pretrained(str(hf_dir))
    model = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32).eval()
    names = gguf_tensor_map(model.config.model_type, model.config.num_hidden_layers)
    sums: dict[str, Any] = {}
    counts: dict[str, int] = {}

    def hook(name: str):
        def record(_module, inputs):
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).double()
            sums[name] = sums.get(name, 0) + (x * x).sum(0)
            counts[name] = counts.get(name, 0) + x.shape[0]
        return record

    handles = []
    for module_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            gguf_name = names.get_name(f"{module_name}.weight", try_suffixes=(".weight",))
            if gguf_name:
                handles.append(module.register_forward_pre_hook(hook(gguf_name)))
    if not handles:
        raise InvalidInputError(f"no linear layer of {str(hf_dir)!r} maps to a GGUF tensor name")
    ids = calibration_ids(tokenizer, data, limit)
    n_tokens = 0
    try:
        with torch.no_grad():
            for row in tqdm(ids, desc="importance matrix", unit="record", disable=not progress):
                model(torch.tensor([row]))
                n_tokens += len(row)
    finally:
        for h in handles:
            h.remove()
    return ImportanceMatrix({n: s.float().numpy() for n, s in sums.items()}, dict(counts),
                            dataset=f"{Path(data).name} ({len(ids)} records, {n_tokens} tokens)")


def resolve(source: Path, hf_dir: Path, limit: int, threads: int, progress: bool) -> ImportanceMatrix:
    """``source`` as an importance matrix: a ``.gguf`` imatrix is read, a corpus JSONL is collected on."""
    if source.suffix == ".gguf":
        return ImportanceMatrix.load(source)
    return collect(hf_dir, source, limit, threads, progress)


def missing_tensors(matrix: ImportanceMatrix, gguf_file: Path) -> list[str]:
    """The 2-D weight tensors of ``gguf_file`` that llama.cpp would quantize without an entry
    (token embeddings excepted: llama.cpp never weights them): a matrix of another model shows here."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_file))
    return [t.name for t in reader.tensors if len(t.shape) == 2 and t.name.endswith(".weight")
            and t.name != "token_embd.weight" and t.name not in matrix.sums]


class LlamaImatrix:
    """``matrix`` as the null-terminated ``llama_model_imatrix_data`` array of llama.cpp's quantize
    parameters; keeps the arrays it points to alive as long as it lives."""

    def __init__(self, matrix: ImportanceMatrix) -> None:
        import llama_cpp

        names = sorted(matrix.entries)
        self._keep = [(n.encode(), np.ascontiguousarray(matrix.entries[n], dtype=np.float32)) for n in names]
        self.array = (llama_cpp.llama_model_imatrix_data * (len(names) + 1))()
        for i, (name, values) in enumerate(self._keep):
            self.array[i].name = name
            self.array[i].data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            self.array[i].size = values.size
        self.array[len(names)].name = None

    @property
    def pointer(self) -> Any:
        import llama_cpp
        return ctypes.cast(self.array, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))


__all__ = ["ImportanceMatrix", "LlamaImatrix", "collect", "resolve", "missing_tensors",
           "calibration_ids", "gguf_tensor_map", "MAX_RECORD_TOKENS"]

