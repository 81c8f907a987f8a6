#!/usr/bin/env bash
# Train on a lent GPU machine: unpack the photo bundle, train for MINUTES, pack the EMA weights as fp16
# and split them into pieces that fit the return trip (at most 8 files of at most 16 MiB under $OUT).
# Run from anywhere; paths are taken from this file's place in the repository. See README.md here.
#
# Knobs (environment):
#   PRESET=small RESOLUTION=64 MINUTES=8 BATCH=256 LR=2e-4 WARMUP=500 EMA_DECAY=0.999
#   INIT_FROM=<packed .pt> | none      default: the most trained models/checkpoints/*.pt of PRESET
#   DEVICE=cuda (cpu for testing)      NUM_WORKERS=14 (data loader processes; the machine has 16 cores)
#   STEPS=100000000 (a ceiling: MINUTES ends the run)   SAMPLE_EVERY=2000 CKPT_EVERY=1000 LOG_EVERY=50
#   SAMPLE_STEPS=50 PIECE_MIB=15 NAME=<file name stem> EXTRA_ARGS="--lr-decay-start ... (more train flags)"
#   BUNDLE=data/bundle/photos.tar CHECKPOINTS=models/checkpoints WORK=/tmp/palette-device OUT=$OUT PYTHON=python3
set -euo pipefail
export PYTHONUNBUFFERED=1

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
OUT="${OUT:-/tmp/palette-device-out}"
mkdir -p "$OUT"
# Everything this script prints also goes to a log under $OUT, so it comes back even if a step fails.
if [[ -z "${PALETTE_DEVICE_LOGGING:-}" ]]; then
  PALETTE_DEVICE_LOGGING=1 bash "${BASH_SOURCE[0]}" "$@" 2>&1 | tee "$OUT/train-on-device.log"
  exit "${PIPESTATUS[0]}"
fi

PRESET="${PRESET:-small}"
RESOLUTION="${RESOLUTION:-64}"
MINUTES="${MINUTES:-8}"
BATCH="${BATCH:-256}"
LR="${LR:-2e-4}"
WARMUP="${WARMUP:-500}"
EMA_DECAY="${EMA_DECAY:-0.999}"
STEPS="${STEPS:-100000000}"
DEVICE="${DEVICE:-cuda}"
NUM_WORKERS="${NUM_WORKERS:-14}"
SAMPLE_EVERY="${SAMPLE_EVERY:-2000}"
CKPT_EVERY="${CKPT_EVERY:-1000}"
LOG_EVERY="${LOG_EVERY:-50}"
SAMPLE_STEPS="${SAMPLE_STEPS:-50}"
PIECE_MIB="${PIECE_MIB:-15}"
BUNDLE="${BUNDLE:-$REPO/data/bundle/photos.tar}"
CHECKPOINTS="${CHECKPOINTS:-$REPO/models/checkpoints}"
WORK="${WORK:-/tmp/palette-device}"
EXTRA_ARGS="${EXTRA_ARGS:-}"
if [[ -z "${PYTHON:-}" ]]; then
  # Here the repository's venv; on the GPU machine (no venv travels) the python3 that holds PyTorch.
  if [[ -x "$REPO/models/training/.venv/bin/python" ]]; then PYTHON="$REPO/models/training/.venv/bin/python"
  else PYTHON=python3; fi
fi
export PYTHONPATH="$REPO/models/training${PYTHONPATH:+:$PYTHONPATH}"
palette() { "$PYTHON" -m palette_training "$@"; }

echo "== $(date -u +%FT%TZ) train-on-device: PRESET=$PRESET RESOLUTION=$RESOLUTION MINUTES=$MINUTES BATCH=$BATCH" \
     "LR=$LR WARMUP=$WARMUP EMA_DECAY=$EMA_DECAY DEVICE=$DEVICE NUM_WORKERS=$NUM_WORKERS"
if command -v nvidia-smi >/dev/null; then nvidia-smi; else echo "(no nvidia-smi)"; fi
df -h /dev/shm 2>/dev/null || true  # the data loader's processes hand batches over through shared memory
"$PYTHON" -c 'import sys, torch, numpy, PIL
from PIL import features
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
      "gpu", torch.cuda.get_device_name() if torch.cuda.is_available() else None,
      "numpy", numpy.__version__, "pillow", PIL.__version__, "webp", features.check("webp"))
assert features.check("webp"), "this Pillow cannot decode the bundle'"'"'s WebP photos"'

if [[ -z "${INIT_FROM:-}" ]]; then
  INIT_FROM="$(palette find-weights --dir "$CHECKPOINTS" --preset "$PRESET")"
elif [[ "$INIT_FROM" == none ]]; then
  INIT_FROM=""
fi
echo "== init from: ${INIT_FROM:-(scratch)}"

rm -rf "$WORK" && mkdir -p "$WORK"
palette unbundle --bundle "$BUNDLE" --out "$WORK/photos"

# --bf16 and --channels-last act on CUDA only, so the same command line serves DEVICE=cpu tests.
run_train() {  # $1: data loader processes, $2: minutes
  # shellcheck disable=SC2086  # EXTRA_ARGS is a list of flags
  palette train --preset "$PRESET" --data "$WORK/photos/train" --val-data "$WORK/photos/val" --out "$WORK/run" \
    --resolution "$RESOLUTION" --batch-size "$BATCH" --steps "$STEPS" --max-minutes "$2" --lr "$LR" \
    --warmup-steps "$WARMUP" --ema-decay "$EMA_DECAY" --num-workers "$1" --log-every "$LOG_EVERY" \
    --sample-every "$SAMPLE_EVERY" --ckpt-every "$CKPT_EVERY" --sample-steps "$SAMPLE_STEPS" --device "$DEVICE" \
    --bf16 --channels-last ${INIT_FROM:+--init-from "$INIT_FROM"} $EXTRA_ARGS
}
CHECKPOINT="$WORK/run/checkpoints/last.pt"
TRAIN_STARTED=$SECONDS
TRAIN_STATUS=0
run_train "$NUM_WORKERS" "$MINUTES" || TRAIN_STATUS=$?
# The lease is too short to lose: a run that died before its first checkpoint with loader processes (a
# small /dev/shm kills them) goes once more without them, slower, for the minutes that are left.
if (( TRAIN_STATUS != 0 )) && [[ ! -f "$CHECKPOINT" && "$NUM_WORKERS" != 0 ]]; then
  LEFT="$(awk -v m="$MINUTES" -v s=$((SECONDS - TRAIN_STARTED)) 'BEGIN { printf "%.2f", m - s / 60 }')"
  if awk -v l="$LEFT" 'BEGIN { exit !(l >= 1) }'; then
    echo "== training failed ($TRAIN_STATUS) before its first checkpoint: again with NUM_WORKERS=0 for $LEFT min"
    TRAIN_STATUS=0
    run_train 0 "$LEFT" || TRAIN_STATUS=$?
  fi
fi
# A failed run (out of memory, a bug) still has its last periodic checkpoint: pack and send that back too.
if [[ ! -f "$CHECKPOINT" ]]; then echo "error: training failed ($TRAIN_STATUS) before its first checkpoint" >&2; exit 1; fi
# EMA only: the raw weights would double the return trip (base: 9 files); a stint from it re-warms anyway.
PACKED="$(palette pack-weights --ema-only --checkpoint "$CHECKPOINT" --out "$WORK/packed.pt")"
echo "$PACKED"
STEP="$(sed -n 's/^packed step \([0-9]*\) .*/\1/p' <<<"$PACKED")"
NAME="${NAME:-$PRESET-r$RESOLUTION-step$STEP}"
mv "$WORK/packed.pt" "$WORK/$NAME.pt"
palette split --file "$WORK/$NAME.pt" --out "$OUT" --piece-mib "$PIECE_MIB"
LAST_GRID="$(find "$WORK/run/samples" -name 'step-*.png' | sort | tail -n 1)"
[[ -n "$LAST_GRID" ]] && cp "$LAST_GRID" "$OUT/"
[[ -f "$WORK/run/loss.jsonl" ]] && cp "$WORK/run/loss.jsonl" "$OUT/loss.jsonl"

# The return trip takes at most 8 files of at most 16 MiB: say so here rather than lose one silently.
FILES="$(find "$OUT" -type f | wc -l)"
TOO_BIG="$(find "$OUT" -type f -size +16M)"
ls -l "$OUT"
echo "== $(date -u +%FT%TZ) done in ${SECONDS}s: step $STEP, $FILES files in $OUT"
if (( FILES > 8 )) || [[ -n "$TOO_BIG" ]]; then
  echo "error: $OUT must hold at most 8 files of at most 16 MiB (has $FILES; too big: ${TOO_BIG:-none})" >&2
  exit 1
fi
if (( TRAIN_STATUS != 0 )); then echo "error: training failed ($TRAIN_STATUS); sent back its last checkpoint" >&2; fi
exit "$TRAIN_STATUS"
