#!/usr/bin/env bash
# Install everything the tests need (in .venv inside the clone) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
if [ -f scripts/install_browser.sh ]; then
  bash scripts/install_browser.sh
fi
exec .venv/bin/python -m pytest -q "$@"
