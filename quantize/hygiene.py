"""What a killed export leaves behind, and how it is kept from lingering.

- ``run_child``: the converter and inspector run as child processes in the exporter's process
  group (a Ctrl-C or a group kill reaches them too) and, on Linux, with a parent-death signal: if
  the exporter is killed, even with ``kill -9``, the child is killed with it instead of writing on.
- ``owned_temp_dir``: temp folders are named ``<prefix><pid>-<random>``, so the next export can
  tell which ones belong to a process that is gone (``clean_stale``) and delete them: the half-written
  ``.NAME.tmp-*`` beside an export and the ``ecomlm-stage-*`` staging folders in the temp folder.
  Folders of an older naming (no pid) are deleted once they are a day old.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

STAGE_PREFIX = "ecomlm-stage-"
LEGACY_MAX_AGE_S = 24 * 3600


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def run_child(cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd)`` whose child dies with this process (Linux), in its process group."""
    if sys.platform.startswith("linux"):
        kwargs.setdefault("preexec_fn", _die_with_parent)
    return subprocess.run(list(cmd), start_new_session=False, **kwargs)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owned_temp_dir(parent: Optional[Path], prefix: str) -> Path:
    """A new temp folder ``<parent>/<prefix><pid>-<random>`` (``parent=None``: the system temp)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def clean_stale(parent: Optional[Path], prefix: str) -> list[Path]:
    """Delete the folders ``<prefix>*`` in ``parent`` left by processes that no longer run; return them."""
    folder = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    if not folder.is_dir():
        return []
    owned = re.compile(re.escape(prefix) + r"(\d+)-")
    removed = []
    for path in folder.glob(f"{glob_escape(prefix)}*"):
        if not path.is_dir() or path.is_symlink():
            continue
        m = owned.match(path.name)
        if m:
            stale = int(m.group(1)) != os.getpid() and not _alive(int(m.group(1)))
        else:
            try:
                stale = time.time() - path.stat().st_mtime > LEGACY_MAX_AGE_S
            except FileNotFoundError:
                continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


__all__ = ["STAGE_PREFIX", "clean_stale", "owned_temp_dir", "run_child"]
