#!/usr/bin/env bash
# The GPU training run, prepared for a short lease of a GPU machine that has no PyPI and takes at
# most 64 MiB per call (the working tree included): train/TRAINING.md, "On the GPU machine".
#
# Here (dev machine):
#   bash scripts/gpu_lease.sh pack [CORPUS_DIR]   # .lease/p1 .. .lease/pN: the base GGUF in parts,
#                                                # the last part also the gguf wheel and the corpus
# There (one call per part, back to back, each carrying its .lease/pK; the box stays warm 30 s):
#   bash scripts/gpu_lease.sh receive              # copies the carried part to /root/lease
#   bash scripts/gpu_lease.sh setup                # (with the last part) joins, checks, installs
#   bash scripts/gpu_lease.sh check                # packing isolation, exact resume, merge parity
#   bash scripts/gpu_lease.sh train NAME MINUTES [ecomlm train options...]
#                                                # a new run, or --resume of an unfinished one; the
#                                                # run (adapter, log, report) comes back in $OUT
# Here again:
#   bash scripts/gpu_lease.sh fetch FILES_AT NAME  # joins what came back into runs/NAME
set -euo pipefail
cd "$(dirname "$0")/.."

LEASE=${LEASE:-/root/lease}               # there: survives between calls while the box is warm
PYTHON=${PYTHON:-python3}                 # there: the python that holds torch
PART_MB=${PART_MB:-28}                    # keeps part + working tree (about 21 MB) under 64 MiB
RECIPE=${RECIPE:-smollm2-135m-lora}       # the GPU recipe (train/recipes/)
BASE=${BASE:-base}                        # base (SmolLM2) or gemma3-270m (the multilingual model's;
                                          # 253 MB: 10 parts, RECIPE=gemma3-270m-lora)

die() { echo "gpu_lease: $*" >&2; exit 1; }

pack() {
  local corpus=${1:-corpus}
  [ -f "$corpus/train.jsonl" ] && [ -f "$corpus/val.jsonl" ] || die "no $corpus/train.jsonl + val.jsonl; \
build them: ecomlm data build --source ../shared/datasets --heldout ../shared/ecomgpt_heldout --out $corpus"
  local gguf
  gguf=$(python3 -c "from ecomlm.runtime.models import shipped_model; print(shipped_model('$BASE').base.locate())") \
    || die "the base GGUF of '$BASE' was not found (bash scripts/setup.sh [multilingual] installs it)"
  grep -qx '/.lease/' .gitignore || die ".lease/ must be ignored by git (.gitignore)"
  rm -rf .lease && mkdir -p .lease/tmp
  split -b "${PART_MB}m" -d "$gguf" .lease/tmp/base.gguf.part
  sha256sum "$gguf" | cut -d' ' -f1 > .lease/tmp/base.gguf.sha256
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    -d .lease/tmp/whl "gguf==$(python3 -c 'import importlib.metadata as m; print(m.version("gguf"))')"
  if [ "$BASE" != base ]; then  # a SentencePiece base (Gemma): its vocabulary is rebuilt with these
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux2014_x86_64 -d .lease/tmp/whl "sentencepiece>=0.2" "protobuf>=4"
  fi
  tar czf .lease/tmp/corpus.tar.gz -C "$corpus" train.jsonl val.jsonl
  local parts=(.lease/tmp/base.gguf.part*) k=0
  for part in "${parts[@]}"; do
    k=$((k + 1)); mkdir -p ".lease/p$k"; mv "$part" ".lease/p$k/"
  done
  mv .lease/tmp/base.gguf.sha256 .lease/tmp/whl .lease/tmp/corpus.tar.gz ".lease/p$k/"
  rmdir .lease/tmp
  local tree
  tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  for d in .lease/p*; do
    local size=$(( $(du -sb "$d" | cut -f1) + tree ))
    [ "$size" -lt $((64 * 1024 * 1024)) ] || die "$d + working tree is $size bytes, over 64 MiB: lower PART_MB"
    echo "$d: $(du -sh "$d" | cut -f1) (+ working tree $((tree / 1024 / 1024)) MB)"
  done
  echo "calls: for each .lease/pK in order, run 'bash scripts/gpu_lease.sh receive' carrying .lease/pK;"
  echo "with the last one: 'bash scripts/gpu_lease.sh receive && bash scripts/gpu_lease.sh setup && bash scripts/gpu_lease.sh check'"
}

receive() {
  mkdir -p "$LEASE"
  local found=0
  for d in .lease/p*; do
    [ -d "$d" ] || continue
    cp -r "$d"/. "$LEASE"/ && found=1 && echo "received $d: $(ls "$d" | tr '\n' ' ')"
  done
  [ "$found" = 1 ] || die "no .lease/pK carried with this call (name it in carry)"
}

env_there() {
  export ECOMLM_BASE_GGUF=$LEASE/base.gguf ECOMLM_GEMMA_GGUF=$LEASE/base.gguf ECOMLM_CACHE=$LEASE/cache PYTHONUNBUFFERED=1
  export PYTHONPATH=$LEASE/site${PYTHONPATH:+:$PYTHONPATH}
}

setup() {
  [ -f "$LEASE/base.gguf.sha256" ] || die "the last part was not received yet"
  cat "$LEASE"/base.gguf.part* > "$LEASE/base.gguf.tmp"
  [ "$(sha256sum "$LEASE/base.gguf.tmp" | cut -d' ' -f1)" = "$(cat "$LEASE/base.gguf.sha256")" ] \
    || die "the joined base GGUF does not match its SHA-256: a part is missing; receive all of them again"
  mv "$LEASE/base.gguf.tmp" "$LEASE/base.gguf" && rm -f "$LEASE"/base.gguf.part*
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$LEASE/site" "$LEASE"/whl/*.whl
  "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation -e .
  mkdir -p "$LEASE/corpus" && tar xzf "$LEASE/corpus.tar.gz" -C "$LEASE/corpus"
  env_there
  "$PYTHON" - <<'EOF'
import torch, transformers, peft, accelerate
print("torch", torch.__version__, "| transformers", transformers.__version__, "| peft", peft.__version__,
      "| accelerate", accelerate.__version__, "| cuda", torch.cuda.is_available() and torch.cuda.get_device_name())
EOF
  wc -l "$LEASE"/corpus/*.jsonl
}

check() {
  env_there
  "$PYTHON" -m pytest -q -x tests/test_train_packing.py tests/test_train_loop.py tests/test_train_merge.py -k "not ship"
}

train() {
  local name=${1:?NAME} minutes=${2:?MINUTES}; shift 2
  env_there
  local run=$LEASE/runs/$name resume=()
  [ -f "$run/config.yaml" ] && resume=(--resume)
  set +e
  "$PYTHON" -m ecomlm.cli train --base "$BASE" --data "$LEASE/corpus/train.jsonl" --val "$LEASE/corpus/val.jsonl" \
    --out "$run" --config "$RECIPE" --time-limit "$minutes" "${resume[@]}" "$@"
  local rc=$?
  set -e
  if [ -n "${OUT:-}" ] && [ -d "$run" ]; then
    # the run without its checkpoints, in parts of at most 15 MB ($OUT takes files of 16 MiB at most)
    tar cf - -C "$LEASE/runs" --exclude 'checkpoint-*' "$name" | split -b 15m -d - "$OUT/run.tar.part"
    ls -la "$OUT"
  fi
  return $rc
}

fetch() {
  local from=${1:?FILES_AT} name=${2:?NAME}
  mkdir -p runs
  [ -n "$(ls "$from"/run.tar.part* 2>/dev/null)" ] || die "no run.tar.part* in $from"
  [ ! -e "runs/$name" ] || die "runs/$name exists; move it away first"
  cat "$from"/run.tar.part* | tar xf - -C runs
  ls -la "runs/$name"
}

cmd=${1:-}; shift || true
case "$cmd" in
  pack|receive|setup|check|train|fetch) "$cmd" "$@" ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
