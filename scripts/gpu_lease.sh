#!/usr/bin/env bash
# The GPU training run, prepared for a short lease of a GPU machine that has no PyPI and takes at
# most 64 MiB per call (the working tree included): train/TRAINING.md, "On the GPU machine".
#
# Here (dev machine):
#   bash scripts/gpu_lease.sh aside               # first (see below); `back` right after the lease
#   bash scripts/gpu_lease.sh pack [CORPUS_DIR]   # .lease/p1 .. .lease/pN: the base GGUF in parts,
#                                                # the last part also the gguf wheel and the corpus
# There (one call per part, back to back, each carrying its .lease/pK; the box stays warm 30 s):
#   bash scripts/gpu_lease.sh receive              # copies the carried part to /root/lease
#   bash scripts/gpu_lease.sh setup                # (with the last part) joins, checks, installs
#   bash scripts/gpu_lease.sh check                # packing isolation, exact resume, merge parity
#   bash scripts/gpu_lease.sh train NAME MINUTES [ecomlm train options...]
#                                                # a new run, or --resume of an unfinished one; the
#                                                # run (adapter, log, report) comes back in $OUT
#   bash scripts/gpu_lease.sh fit NAME SECONDS FULL_STEPS [ecomlm train options...]
#                                                # one call: a 12-step probe measures tokens/s, then
#                                                # a new run of min(FULL_STEPS, what fits) steps ends
#                                                # within SECONDS of its own start
# Here again:
#   bash scripts/gpu_lease.sh fetch FILES_AT NAME  # joins what came back into runs/NAME
# Fewer calls: `aside` takes the shipped adapters' weights (35 MB, not needed to train) out of what
# travels (out of git's index, into .git/info/exclude; the files stay on disk), so a part can be
# about 60 MB and SmolLM2's GGUF goes in two calls; `back` restores the index right after the lease.
set -euo pipefail
cd "$(dirname "$0")/.."

LEASE=${LEASE:-/root/lease}               # there: survives between calls while the box is warm
PYTHON=${PYTHON:-python3}                 # there: the python that holds torch
PART_MB=${PART_MB:-}                      # default: what fits beside the working tree in 64 MiB
RECIPE=${RECIPE:-smollm2-135m-lora}       # the GPU recipe (train/recipes/)
BASE=${BASE:-base}                        # base (SmolLM2) or gemma3-270m (the multilingual model's;
                                          # 253 MB: 5 parts after 'aside', RECIPE=gemma3-270m-lora)

die() { echo "gpu_lease: $*" >&2; exit 1; }

# bytes of what a call sends besides its carried paths: tracked and untracked-not-ignored files
tree_bytes() {
  python3 -c 'import os, subprocess
out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                     capture_output=True, check=True).stdout.decode()
print(sum(os.path.getsize(f) for f in set(out.split("\0")) if f and os.path.isfile(f)))'
}

pack() {
  local corpus=${1:-corpus}
  [ -f "$corpus/train.jsonl" ] && [ -f "$corpus/val.jsonl" ] || die "no $corpus/train.jsonl + val.jsonl; \
build them: ecomlm data build --source ../shared/datasets --heldout ../shared/ecomgpt_heldout --out $corpus"
  local gguf
  gguf=$(python3 -c "from ecomlm.runtime.models import shipped_model; print(shipped_model('$BASE').base.locate())") \
    || die "the base GGUF of '$BASE' was not found (bash scripts/setup.sh [multilingual] installs it)"
  grep -qx '/.lease/' .gitignore || die ".lease/ must be ignored by git (.gitignore)"
  local tree
  tree=$(tree_bytes)
  [ -n "$PART_MB" ] || PART_MB=$(( (64 * 1024 * 1024 - tree) / 1024 / 1024 - 4 ))
  rm -rf .lease && mkdir -p .lease/tmp
  split -b "${PART_MB}m" -d "$gguf" .lease/tmp/base.gguf.part
  sha256sum "$gguf" | cut -d' ' -f1 > .lease/tmp/base.gguf.sha256
  # the file keeps its name there: a run records the base's hash over name and content, and merging
  # here checks it (source/merge.py)
  basename "$gguf" > .lease/tmp/base.gguf.name
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
  mv .lease/tmp/base.gguf.sha256 .lease/tmp/base.gguf.name .lease/tmp/whl .lease/tmp/corpus.tar.gz ".lease/p$k/"
  rmdir .lease/tmp
  for d in .lease/p*; do
    local size=$(( $(du -sb "$d" | cut -f1) + tree ))
    [ "$size" -lt $((64 * 1024 * 1024)) ] || die "$d + working tree is $size bytes, over 64 MiB: lower PART_MB"
    echo "$d: $(du -sh "$d" | cut -f1) (+ working tree $((tree / 1024 / 1024)) MB)"
  done
  echo "calls, back to back (a box idle for 30 s is gone): for each .lease/pK in order, run"
  echo "'bash scripts/gpu_lease.sh receive' carrying .lease/pK; with the last one:"
  echo "'export BASE=$BASE RECIPE=$RECIPE; bash scripts/gpu_lease.sh receive && bash scripts/gpu_lease.sh setup && bash scripts/gpu_lease.sh fit NAME SECONDS FULL_STEPS'"
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

base_there() { echo "$LEASE/$(cat "$LEASE/base.gguf.name")"; }

env_there() {
  export ECOMLM_BASE_GGUF=$(base_there) ECOMLM_GEMMA_GGUF=$(base_there) ECOMLM_CACHE=$LEASE/cache PYTHONUNBUFFERED=1
  export PYTHONPATH=$LEASE/site${PYTHONPATH:+:$PYTHONPATH}
}

setup() {
  [ -f "$LEASE/base.gguf.sha256" ] || die "the last part was not received yet"
  cat "$LEASE"/base.gguf.part* > "$LEASE/base.gguf.tmp"
  [ "$(sha256sum "$LEASE/base.gguf.tmp" | cut -d' ' -f1)" = "$(cat "$LEASE/base.gguf.sha256")" ] \
    || die "the joined base GGUF does not match its SHA-256: a part is missing; receive all of them again"
  mv "$LEASE/base.gguf.tmp" "$(base_there)" && rm -f "$LEASE"/base.gguf.part*
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
    # a run stopped by its time limit has no adapter/ yet: its last checkpoint comes back instead
    local skip=(--exclude 'checkpoint-*') c
    if [ ! -d "$run/adapter" ]; then
      skip=()
      for c in $(ls -d "$run"/checkpoint-* 2>/dev/null | head -n -1); do skip+=(--exclude "$(basename "$c")"); done
    fi
    tar cf - -C "$LEASE/runs" "${skip[@]}" "$name" | split -b 15m -d - "$OUT/run.tar.part"
    ls -la "$OUT"
  fi
  return $rc
}

fit() {
  local name=${1:?NAME} budget=${2:?SECONDS} full=${3:?FULL_STEPS}; shift 3
  local t0 recipe=$RECIPE
  t0=$(date +%s)
  env_there
  mkdir -p "$LEASE/runs"
  local probe=(train --base "$BASE" --data "$LEASE/corpus/train.jsonl" --max-steps 12 --limit 2000)
  if ! "$PYTHON" -m ecomlm.cli "${probe[@]}" --out "$LEASE/runs/probe-bf16" --config "$recipe"; then
    # bf16 failed on this box (the packing-isolation check's tolerance, say): the recipe in float32
    # (RECIPE is a name in train/recipes/ or a path, as `ecomlm train --config` takes it)
    local file
    file=$("$PYTHON" -c 'import sys; from ecomlm.train.config import recipe_path; print(recipe_path(sys.argv[1]))' "$recipe") \
      || die "recipe $recipe not found"
    sed 's/^precision:.*/precision: fp32/' "$file" > "$LEASE/fp32.yaml"
    recipe=$LEASE/fp32.yaml
    "$PYTHON" -m ecomlm.cli "${probe[@]}" --out "$LEASE/runs/probe-fp32" --config "$recipe" \
      || die "the probe failed in bf16 and in float32"
  fi
  local report
  report=$(ls -t "$LEASE"/runs/probe-*/report.json | head -1)
  [ -z "${OUT:-}" ] || cp "$report" "$OUT/probe-report.json"
  local left=$(( budget - ($(date +%s) - t0) ))
  local steps  # 120 s of the real run are not steps: load, tokenise the corpus, validations, save
  steps=$("$PYTHON" - "$report" "$left" "$full" <<'PY'
import json, os, sys
report, left, full = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
tps = json.load(open(report))["tokens_per_s"]
log = [json.loads(line) for line in open(os.path.join(os.path.dirname(report), "log.jsonl")) if '"loss"' in line]
per_step = log[-1]["tokens_seen"] / log[-1]["step"]
fits = int((left - 120) * tps / per_step)
steps = max(1, min(full, fits))
print(steps)
print(f"fit: {tps:.0f} tokens/s, {per_step:.0f} tokens a step, {left:.0f} s left: {steps} of {full} steps",
      file=sys.stderr)
PY
)
  local minutes
  minutes=$("$PYTHON" -c "print(round(max(1.0, ($left - 30) / 60), 2))")
  local args=(--max-steps "$steps")
  [ "$steps" -lt "$full" ] || args=()
  RECIPE=$recipe train "$name" "$minutes" "${args[@]}" "$@"
}

fetch() {
  local from=${1:?FILES_AT} name=${2:?NAME}
  mkdir -p runs
  [ -n "$(ls "$from"/run.tar.part* 2>/dev/null)" ] || die "no run.tar.part* in $from"
  [ ! -e "runs/$name" ] || die "runs/$name exists; move it away first"
  cat "$from"/run.tar.part* | tar xf - -C runs
  ls -la "runs/$name"
}

aside() {
  local list=.git/ecomlm-lease-aside
  [ ! -e "$list" ] || die "adapters are set aside already ($list); 'back' first"
  git diff --quiet HEAD -- runtime/adapters \
    || die "runtime/adapters has uncommitted changes (a run shipped for a test?); commit them or restore them (git checkout runtime/adapters) first"
  git ls-files -z runtime/adapters | xargs -0 du -b | awk '$1 > 1000000 {print $2}' > "$list"
  [ -s "$list" ] || { rm -f "$list"; die "nothing large under runtime/adapters"; }
  xargs git rm -q --cached -- < "$list"
  { echo "# ecomlm-lease-aside"; sed 's|^|/|' "$list"; } >> .git/info/exclude
  echo "set aside (on disk, out of what travels): $(tr '\n' ' ' < "$list")"
  echo "working tree that travels: $(( $(tree_bytes) / 1024 / 1024 )) MB"
}

back() {
  local list=.git/ecomlm-lease-aside
  [ -e "$list" ] || die "nothing set aside"
  xargs git reset -q HEAD -- < "$list"
  python3 - "$list" <<'PY'
import sys
drop = {"/" + line.strip() for line in open(sys.argv[1]) if line.strip()} | {"# ecomlm-lease-aside"}
path = ".git/info/exclude"
lines = open(path).read().splitlines()
open(path, "w").write("".join(line + "\n" for line in lines if line not in drop))
PY
  rm -f "$list"
  echo "adapters back in git's index: $(git status --short runtime/adapters | wc -l) changes under runtime/adapters"
}

cmd=${1:-}; shift || true
case "$cmd" in
  pack|receive|setup|check|train|fit|fetch|aside|back) "$cmd" "$@" ;;
  *) sed -n '2,24p' "$0"; exit 2 ;;
esac
