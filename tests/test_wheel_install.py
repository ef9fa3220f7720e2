"""A wheel built from the repository installs into a fresh virtual environment and answers a task
from outside the clone: no source tree on the path, package data (the shipped adapter) inside the
wheel, the `ecomlm` command working, and install hints for a pip install.

Nothing is downloaded: the fresh venv sees the dependencies already installed here (llama-cpp-python,
numpy, the bundled model) through a .pth line, as `python -m venv --system-site-packages` would show a
system's packages, so llama.cpp is not rebuilt; ecomlm itself comes only from the wheel (the .pth
files of the development venv, including its editable install of ecomlm, are not processed).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(*argv: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    assert out.returncode == 0, (argv, out.stdout[-2000:], out.stderr[-2000:])
    return out


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> tuple[Path, str]:
    """The wheel built from a copy of the working tree, and what the build printed."""
    work = tmp_path_factory.mktemp("wheel")
    # build from a copy of the working tree (tracked and new files, nothing ignored): a stale build/
    # folder in the clone cannot leak into the wheel
    src = work / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    dist = work / "dist"
    build = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist,
                 src, cwd=work)
    return next(dist.glob("ecomlm-*.whl")), build.stdout + build.stderr


@pytest.fixture(scope="module")
def fresh_venv(built_wheel, tmp_path_factory) -> Path:
    wheel = built_wheel[0]
    work = tmp_path_factory.mktemp("venv")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    py = venv / "bin" / "python"
    site = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work)
                .stdout.strip())
    (site / "dev-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheel, cwd=work)
    return venv


def test_the_wheel_answers_a_task_outside_the_clone(fresh_venv, tmp_path):
    py, cli = fresh_venv / "bin" / "python", fresh_venv / "bin" / "ecomlm"
    where = _run(py, "-c", "import ecomlm.runtime as r; print(r.__file__)", cwd=tmp_path).stdout.strip()
    assert where.startswith(str(fresh_venv)) and not where.startswith(str(REPO))
    from importlib.metadata import version
    assert _run(cli, "--version", cwd=tmp_path).stdout.strip() == f"ecomlm {version('ecomlm')}"
    out = _run(cli, "run", "sentiment", "--text", "Broke after a week.", "--model", "default", "--json",
               cwd=tmp_path)
    result = json.loads(out.stdout)
    assert result["labels"][0] in ("positive", "negative", "neutral")
    hint = _run(py, "-c", "from ecomlm.cli.extras import install_hint; print(install_hint('demo'))",
                cwd=tmp_path).stdout
    assert "pip install 'ecomlm[demo]'" in hint


def test_the_wheel_ships_the_adapter_and_no_source_tree(fresh_venv, tmp_path):
    py = fresh_venv / "bin" / "python"
    code = ("from ecomlm.runtime.model_ref import resolve; r = resolve('default'); "
            "print(r.adapter)")
    adapter = _run(py, "-c", code, cwd=tmp_path).stdout.strip()
    assert adapter.startswith(str(fresh_venv)) and adapter.endswith("adapter.gguf")
    from ecomlm.cli.extras import clone_root
    assert clone_root() == REPO  # the development install is a clone...
    assert _run(py, "-c", "from ecomlm.cli.extras import clone_root; print(clone_root())",
                cwd=tmp_path).stdout.strip() == "None"  # ...the wheel is not


def test_the_wheel_builds_without_setuptools_warnings(built_wheel):
    # e.g. a data folder missing from `packages`, or a deprecated metadata form
    assert "Warning" not in built_wheel[1], built_wheel[1][-3000:]


def test_the_wheel_ships_the_realistic_set(fresh_venv, tmp_path):
    py = fresh_venv / "bin" / "python"
    code = ("from ecomlm.evaluate.realistic_eval import REALISTIC_DIR, load_items; "
            "print(REALISTIC_DIR); print(len(load_items()))")
    folder, count = _run(py, "-c", code, cwd=tmp_path).stdout.split()
    from ecomlm.evaluate.realistic_eval import load_items
    assert folder.startswith(str(fresh_venv)) and int(count) == len(load_items())
