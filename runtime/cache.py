"""Where ecomlm caches what it derives from installed models (assembled GGUFs, materialised bases)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$ECOMLM_CACHE`` or ``~/.cache/ecomlm``."""
    return Path(os.environ.get("ECOMLM_CACHE") or Path.home() / ".cache" / "ecomlm")


__all__ = ["cache_root"]
