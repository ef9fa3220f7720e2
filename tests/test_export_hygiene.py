"""What a killed export leaves: the converter child dies with its parent, stale temp folders are
cleaned at the next export, and the demo never offers an unfinished artifact."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ecomlm.demo.models import find_exports
from ecomlm.quantize import manifest as mf
from ecomlm.quantize.hygiene import STAGE_PREFIX, clean_stale, owned_temp_dir


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie has stopped running


def _dead_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid += 1
    return pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_the_converter_child_dies_with_its_killed_parent(tmp_path):
    pid_file = tmp_path / "child.pid"
    parent_code = textwrap.dedent(f"""
        import sys
        from ecomlm.quantize.hygiene import run_child
        run_child([sys.executable, "-c", "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"])
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert _running(child)
    assert os.getpgid(child) == os.getpgid(parent.pid)  # in the exporter's process group
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while _running(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_stale_export_folders_are_cleaned_at_the_next_export(tmp_path):
    out = tmp_path / "exp"
    dead = tmp_path / f".exp.tmp-{_dead_pid()}-abc"
    (dead / "x").mkdir(parents=True)
    (dead / "x" / "model-F16.gguf").write_bytes(b"GGUF" + b"\0" * 100)  # half-written
    mine = owned_temp_dir(tmp_path, ".exp.tmp-")  # a live process's folder stays
    old_legacy, new_legacy = tmp_path / ".exp.tmp-oldname1", tmp_path / ".exp.tmp-newname2"
    old_legacy.mkdir()
    new_legacy.mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_legacy, (two_days_ago, two_days_ago))
    other = tmp_path / ".other.tmp-1-x"
    other.mkdir()

    tmp = mf.prepare_output(out, force=False)  # what `ecomlm export` does first
    assert tmp.is_dir() and tmp.name.startswith(f".exp.tmp-{os.getpid()}-")
    assert not dead.exists() and not old_legacy.exists()
    assert mine.exists() and new_legacy.exists() and other.exists()


def test_stale_staging_folders_in_the_temp_folder_are_cleaned(tmp_path):
    dead = tmp_path / f"{STAGE_PREFIX}{_dead_pid()}-xyz"
    dead.mkdir()
    alive = owned_temp_dir(tmp_path, STAGE_PREFIX)
    assert clean_stale(tmp_path, STAGE_PREFIX) == [dead]
    assert not dead.exists() and alive.exists()


def test_the_demo_offers_no_dot_folder_or_unfinished_artifact(tmp_path):
    good = tmp_path / "smollm" / "model-Q4_K_M.gguf"
    good.parent.mkdir()
    good.write_bytes(b"GGUF")
    for hidden in (tmp_path / ".smollm.tmp-123-x" / "model-F16.gguf",
                   tmp_path / "smollm" / ".partial" / "model.gguf",
                   tmp_path / ".onnx.tmp-1-y" / "int8" / "model.onnx"):
        hidden.parent.mkdir(parents=True)
        hidden.write_bytes(b"GGUF")
    onnx = tmp_path / "onnx" / "int8" / "model.onnx"
    onnx.parent.mkdir(parents=True)
    onnx.write_bytes(b"onnx")
    assert find_exports(tmp_path) == sorted([str(good), str(onnx.parent)])
