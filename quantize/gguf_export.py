"""Hugging Face folder -> GGUF files (F16 and llama.cpp quantizations), with llama.cpp's own tools.

F16 (or F32/BF16) comes from ``convert_hf_to_gguf.py`` run as a subprocess (see ``ecomlm.source.converter``);
every other type is quantized from the F16 file by ``llama_cpp.llama_model_quantize``. The converter
copies the chat template and the EOS/end-of-turn tokens into the GGUF metadata, so llama.cpp,
Ollama and LM Studio run the file as it is. The real bits per weight of each file are measured
(Q4_K_M falls back to other types on tensors whose rows are not a multiple of 256).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ecomlm.runtime.errors import EcomError
from ecomlm.source.converter import Converter, ensure_converter

from .hygiene import run_child
from .source import UnsupportedModelError

if TYPE_CHECKING:
    from .imatrix import ImportanceMatrix

#: converter output types (written directly by convert_hf_to_gguf.py)
CONVERTER_TYPES = {"f32": "f32", "f16": "f16", "bf16": "bf16"}
#: llama.cpp quantization types reachable through llama_model_quantize (name -> LLAMA_FTYPE_* suffix)
QUANT_TYPES = {
    "q8_0": "MOSTLY_Q8_0", "q6_k": "MOSTLY_Q6_K", "q5_k_m": "MOSTLY_Q5_K_M", "q5_k_s": "MOSTLY_Q5_K_S",
    "q5_0": "MOSTLY_Q5_0", "q5_1": "MOSTLY_Q5_1", "q4_k_m": "MOSTLY_Q4_K_M", "q4_k_s": "MOSTLY_Q4_K_S",
    "q4_0": "MOSTLY_Q4_0", "q4_1": "MOSTLY_Q4_1", "q3_k_m": "MOSTLY_Q3_K_M", "iq4_nl": "MOSTLY_IQ4_NL",
}
GGUF_TYPES = tuple(CONVERTER_TYPES) + tuple(QUANT_TYPES)

_INSPECT = r"""
import json, sys
from collections import Counter
from gguf import GGUFReader
r = GGUFReader(sys.argv[1])
types, n_el, n_bytes = Counter(), 0, 0
for t in r.tensors:
    types[t.tensor_type.name] += 1
    n_el += int(t.n_elements); n_bytes += int(t.n_bytes)
def field(k):
    f = r.fields.get(k)
    return None if f is None else f.contents()
print(json.dumps({"tensor_types": dict(types), "n_tensors": len(r.tensors), "n_weights": n_el,
                  "tensor_bytes": n_bytes, "file_type": field("general.file_type"),
                  "architecture": field("general.architecture"),
                  "tokenizer_model": field("tokenizer.ggml.model"), "tokenizer_pre": field("tokenizer.ggml.pre"),
                  "eos_token_id": field("tokenizer.ggml.eos_token_id"),
                  "eot_token_id": field("tokenizer.ggml.eot_token_id"),
                  "has_chat_template": bool(field("tokenizer.chat_template"))}))
"""


class ConversionError(EcomError):
    """The converter failed for another reason than an unsupported architecture."""


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF file holds: tensor types, weights, real bits per weight, tokenizer metadata."""

    tensor_types: dict
    n_tensors: int
    n_weights: int
    tensor_bytes: int
    bits_per_weight: float
    metadata: dict


def parse_quants(text: str) -> list[str]:
    names = [q.strip().lower() for q in text.split(",") if q.strip()]
    bad = [q for q in names if q not in GGUF_TYPES]
    if bad or not names:
        raise ValueError(f"unknown GGUF type(s) {', '.join(bad) or '(none given)'}; "
                         f"choose from {', '.join(GGUF_TYPES)}")
    return list(dict.fromkeys(names))


def file_name(stem: str, quant: str) -> str:
    return f"{stem}-{quant.upper()}.gguf"


def convert(hf_dir: Path, out_file: Path, outtype: str = "f16",
            converter: Optional[Converter] = None, model_name: Optional[str] = None) -> None:
    """Run llama.cpp's ``convert_hf_to_gguf.py`` on ``hf_dir``; ``model_name`` is the file's
    ``general.name`` (without it the converter names the model after ``hf_dir``'s folder)."""
    conv = converter or ensure_converter()
    cmd = [sys.executable, str(conv.script), str(hf_dir), "--outfile", str(out_file),
           "--outtype", CONVERTER_TYPES[outtype]] + (["--model-name", model_name] if model_name else [])
    proc = run_child(cmd, env=conv.env(), capture_output=True, text=True)  # dies with this process
    if proc.returncode != 0 or not out_file.exists():
        log = (proc.stderr or "") + (proc.stdout or "")
        if "not supported" in log and ("Model " in log or "Architecture" in log):
            line = next((ln for ln in log.splitlines() if "not supported" in ln), "")
            raise UnsupportedModelError(f"llama.cpp's converter cannot convert {hf_dir}: {line.strip()}")
        raise ConversionError(f"convert_hf_to_gguf.py failed on {hf_dir} (exit {proc.returncode}):\n"
                              f"{log.strip()[-2000:]}")
    if "BPE pre-tokenizer was not recognized" in proc.stderr + proc.stdout:
        raise ConversionError(f"llama.cpp's converter did not recognize the tokenizer of {hf_dir} "
                              f"(its BPE pre-tokenizer); the GGUF would tokenize differently")


def quantize(src: Path, dest: Path, quant: str, n_threads: int = 2,
             imatrix: Optional["ImportanceMatrix"] = None) -> None:
    """Quantize an F16/F32 GGUF to ``quant`` with llama.cpp's ``llama_model_quantize``, its rounding
    weighted by ``imatrix`` when given (``imatrix.py``)."""
    import llama_cpp

    from .imatrix import LlamaImatrix

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_{QUANT_TYPES[quant]}")
    params.nthread = n_threads
    weights = LlamaImatrix(imatrix) if imatrix is not None else None
    if weights is not None:
        params.imatrix = weights.pointer
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dest).encode(), params)
    if rc != 0 or not dest.exists():
        raise ConversionError(f"llama_model_quantize({quant}) failed on {src} (code {rc})")


def inspect(path: Path, converter: Optional[Converter] = None) -> GGUFInfo:
    """Tensor types, weight count and real bits per weight of a GGUF (read with llama.cpp's gguf-py)."""
    conv = converter or ensure_converter()
    proc = run_child([sys.executable, "-c", _INSPECT, str(path)], env=conv.env(),
                     capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConversionError(f"could not read {path} with gguf-py: {proc.stderr.strip()[-1000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    meta = {k: data[k] for k in ("file_type", "architecture", "tokenizer_model", "tokenizer_pre",
                                 "eos_token_id", "eot_token_id", "has_chat_template")}
    return GGUFInfo(tensor_types=data["tensor_types"], n_tensors=data["n_tensors"],
                    n_weights=data["n_weights"], tensor_bytes=data["tensor_bytes"],
                    bits_per_weight=round(8 * data["tensor_bytes"] / max(data["n_weights"], 1), 3),
                    metadata=meta)
