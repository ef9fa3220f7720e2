#!/usr/bin/env bash
# Install the runtime and run e-commerce tasks on the bundled default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ecomlm run ner --text "Lenovo ThinkPad X1 Carbon Gen 11, 14 inch, Intel Core i7" \
  --types Brand,Product,Attribute --json
.venv/bin/ecomlm run sentiment --text "The battery died after two days" \
  --labels positive,negative,neutral --json
