"""llama.cpp's own HF -> GGUF converter, taken from the llama-cpp-python source distribution.

The installed llama-cpp-python wheel does not ship ``convert_hf_to_gguf.py``; its sdist does, under
``vendor/llama.cpp`` together with the ``gguf-py`` and ``conversion/`` packages it needs, matched to
the llama.cpp that the wheel was built from. The PyPI ``gguf`` package of the same number lacks what
that converter uses, and the PyPI ``convert-hf-to-gguf`` package is an unofficial repackaging: neither
is used.

``ensure_converter()`` returns a cached copy, fetching it once with
``pip download --no-deps --no-binary :all: llama-cpp-python==<version>`` (PyPI only) and extracting
the converter files into ``<cache>/llama-cpp-<version>/`` (``$ECOMLM_CACHE`` or ``~/.cache/ecomlm``).
Offline, point ``ECOMLM_LLAMA_CPP_SRC`` at an extracted sdist (or its ``vendor/llama.cpp``) or at a
downloaded ``llama_cpp_python-<version>.tar.gz``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ecomlm.runtime.cache import cache_root
from ecomlm.runtime.errors import EcomError

#: must equal the llama-cpp-python pin in pyproject.toml (the converter matches that build)
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
#: what we take from the sdist's vendor/llama.cpp
# convert_lora_to_gguf.py turns a peft adapter into a GGUF LoRA (used by ``merge.adapter_to_gguf``).
_MEMBERS = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion", "gguf-py", "LICENSE")
_MARKER = "ecomlm-converter.json"


class ConverterUnavailableError(EcomError):
    """llama.cpp's converter could not be found or fetched."""


@dataclass(frozen=True)
class Converter:
    """A usable copy of llama.cpp's converter: run ``script`` with ``gguf_py`` on PYTHONPATH."""

    root: Path
    version: str

    @property
    def script(self) -> Path:
        return self.root / "convert_hf_to_gguf.py"

    @property
    def gguf_py(self) -> Path:
        return self.root / "gguf-py"

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that runs the converter (or imports its gguf-py)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.gguf_py), str(self.root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env.pop("NO_LOCAL_GGUF", None)
        return env


def cache_dir(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    return cache_root() / f"llama-cpp-{version}"


def _complete(root: Path) -> bool:
    return all((root / m).exists() for m in _MEMBERS[:4]) and (root / "gguf-py" / "gguf").is_dir()


def _extract(tarball: Path, dest: Path, version: str) -> None:
    from ecomlm.runtime.atomic_io import atomic_dir

    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    with atomic_dir(dest) as tmp, tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                   and m.name[len(prefix):].split("/")[0] in _MEMBERS and (m.isfile() or m.isdir())]
        if not members:
            raise ConverterUnavailableError(f"{tarball} holds no {prefix}convert_hf_to_gguf.py; is it "
                                            f"the llama-cpp-python {version} sdist?")
        for m in members:
            m.name = m.name[len(prefix):]
        tar.extractall(tmp, members=members, filter="data")
        if not _complete(tmp):
            raise ConverterUnavailableError(f"{tarball} lacks part of the converter ({', '.join(_MEMBERS)})")
        (tmp / _MARKER).write_text(json.dumps({"llama_cpp_python": version, "from": str(tarball)}) + "\n")


def _download_sdist(version: str, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           f"llama-cpp-python=={version}", "-d", str(into), "--quiet"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise ConverterUnavailableError(
            f"could not download the llama-cpp-python {version} sdist, which holds llama.cpp's "
            f"convert_hf_to_gguf.py ({' '.join(cmd)} failed: {detail.strip()[-500:]}); download it "
            f"where PyPI is reachable and set ECOMLM_LLAMA_CPP_SRC to the .tar.gz") from e
    found = sorted(into.glob(f"llama_cpp_python-{version}.tar.gz"))
    if not found:
        raise ConverterUnavailableError(f"pip download left no llama_cpp_python-{version}.tar.gz in {into}")
    return found[0]


def ensure_converter(version: str = LLAMA_CPP_PYTHON_VERSION, *, download: bool = True) -> Converter:
    """A cached copy of the converter of llama-cpp-python ``version``, fetched on first use."""
    override = os.environ.get("ECOMLM_LLAMA_CPP_SRC")
    if override:
        path = Path(override).expanduser()
        for root in (path, path / "vendor" / "llama.cpp"):
            if root.is_dir() and _complete(root):
                return Converter(root, version)
        if path.is_file() and path.name.endswith(".tar.gz"):
            dest = cache_dir(version)
            if not _complete(dest):
                _extract(path, dest, version)
            return Converter(dest, version)
        raise ConverterUnavailableError(
            f"ECOMLM_LLAMA_CPP_SRC={override!r} is neither the llama-cpp-python {version} sdist "
            f"(.tar.gz) nor a folder holding convert_hf_to_gguf.py, conversion/ and gguf-py/")
    dest = cache_dir(version)
    if _complete(dest):
        return Converter(dest, version)
    if not download:
        raise ConverterUnavailableError(f"llama.cpp's converter is not cached in {dest}; run "
                                        f"`ecomlm export fetch-converter` (needs PyPI)")
    with tempfile.TemporaryDirectory(prefix="ecomlm-sdist-") as tmp:
        tarball = _download_sdist(version, Path(tmp))
        _extract(tarball, dest, version)
    return Converter(dest, version)


def find_converter(version: str = LLAMA_CPP_PYTHON_VERSION) -> Optional[Converter]:
    """The cached converter, or ``None`` (never downloads)."""
    try:
        return ensure_converter(version, download=False)
    except ConverterUnavailableError:
        return None
