"""``manifest.json`` of an export: source, tools, and per artifact its files, quantization and parity.

Schema (``MANIFEST_VERSION`` 1)::

    {"manifest_version": 1, "format": "gguf" | "onnx", "created": ISO time, "machine": str,
     "source": {"ref", "path", "sha256", "architecture", "model_type", "tokenizer_repairs"},
     "tools": {package: version, "llama_cpp_converter": ...},
     "parity_prompts": [task names], "timings_s": {step: seconds},
     "artifacts": [{"name", "quantization": {...}, "files": [{"path", "bytes", "sha256"}],
                    "bytes", "bits_per_weight", "parity": {...} | null, "speed": {...} | null,
                    "task_score_delta": null until `ecomlm export score` writes
                    {metric: artifact minus PyTorch, in points}, with "task_score": pooled scores}],
     "task_score": {"slice": {...}, "reference": PyTorch pooled scores} (after `ecomlm export score`)}
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from ecomlm.runtime.atomic_io import atomic_write, replace_dir, sha256_file
from ecomlm.runtime.errors import EcomError

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_KEYS = ("manifest_version", "format", "created", "source", "tools", "artifacts")
ARTIFACT_KEYS = ("name", "quantization", "files", "bytes", "bits_per_weight", "parity", "task_score_delta")


class OutputExistsError(EcomError):
    """The export's output folder exists already."""


def file_entries(root: Path, files: Iterable[Path]) -> list[dict[str, Any]]:
    return [{"path": f.relative_to(root).as_posix(), "bytes": f.stat().st_size, "sha256": sha256_file(f)}
            for f in sorted(files)]


def tool_versions(packages: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


#: CPU features that change what a quantized artifact computes (int8 without VNNI saturates: onnx_export.py)
CPU_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_features(cpuinfo: str | None = None) -> list[str]:
    """Which of ``CPU_FEATURES`` this CPU has (Linux's /proc/cpuinfo flags; empty where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
    flags = next((line.partition(":")[2].split() for line in cpuinfo.splitlines()
                  if line.startswith(("flags", "Features"))), [])
    return [f for f in CPU_FEATURES if f in flags]


def machine() -> str:
    """The machine in words, with the CPU features that decide int8's accuracy."""
    features = cpu_features()
    return (f"{platform.machine()} {os.cpu_count()}-core CPU" + (f" ({', '.join(features)})" if features else "")
            + f", {platform.system()} (python {platform.python_version()})")


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_manifest(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / MANIFEST
    with atomic_write(path) as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST if folder.is_dir() else folder
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise EcomError(f"{folder} has no {MANIFEST}: not a folder written by `ecomlm export`") from None


def missing_keys(data: dict[str, Any]) -> list[str]:
    """Keys a complete manifest must have but ``data`` lacks (``[]`` when complete)."""
    missing = [k for k in REQUIRED_KEYS if k not in data]
    for i, art in enumerate(data.get("artifacts", [])):
        missing += [f"artifacts[{i}].{k}" for k in ARTIFACT_KEYS if k not in art]
    return missing


def prepare_output(out: Path, force: bool) -> Path:
    """A fresh temp folder beside ``out`` to build the export in (renamed over ``out`` at the end)."""
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists already; choose another --out or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    from .hygiene import clean_stale, owned_temp_dir
    clean_stale(out.parent, f".{out.name}.tmp-")  # what a killed export of ``out`` left behind
    return owned_temp_dir(out.parent, f".{out.name}.tmp-")


def publish(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out`` (replacing an old one) with renames only."""
    replace_dir(tmp, out)
