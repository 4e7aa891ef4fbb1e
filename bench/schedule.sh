#!/usr/bin/env bash
# schedule.sh: whole-network schedules against layer by layer (docs/benchmarks.md,
# "Whole-network schedules"), side by side in one run per model and target, and
# the compile time of ResNet-50 for eyeriss with and without the schedule search.
#
# Usage: bench/schedule.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR  default build (needs naasc and bench/bench_schedule built)
#   WORK_DIR   default BUILD_DIR/schedule-bench (zoo models are written there)
# The PP-OCR det model is taken from scripts/fetch-ocr-models.sh's cache
# (${XDG_CACHE_HOME:-$HOME/.cache}/naasc/ocr-models), fetched if missing.
#
# Prints markdown: a stamp (command, commit, date, machine), the table of
# bench_schedule (one row per model and target), and the timing lines.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
BUILD="${1:-$ROOT/build}"
WORK="${2:-$BUILD/schedule-bench}"
NAASC="$BUILD/tools/naasc"
BENCH="$BUILD/bench/bench_schedule"
OCR="${XDG_CACHE_HOME:-$HOME/.cache}/naasc/ocr-models"
mkdir -p "$WORK"
for x in "$NAASC" "$BENCH"; do
  [ -x "$x" ] || { echo "schedule.sh: $x is not built" >&2; exit 1; }
done

echo "Command: \`bench/schedule.sh $*\`  "
echo "Commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)')  "
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

for n in mobilenetv2 resnet50 unet; do
  [ -s "$WORK/$n.onnx" ] || "$NAASC" zoo "$n" -o "$WORK/$n.onnx"
done
DET="$OCR/ch_PP-OCRv4_det_infer.onnx"
if [ ! -s "$DET" ]; then
  "$ROOT/scripts/fetch-ocr-models.sh" "$OCR" >&2 || true
fi
MODELS=("$WORK/mobilenetv2.onnx" "$WORK/resnet50.onnx" "$WORK/unet.onnx")
[ -s "$DET" ] && MODELS+=("$DET@x=1x3x640x640")

"$BENCH" eyeriss,nvdla-256 "${MODELS[@]}" --jobs 2 2>/dev/null
echo

# CPU seconds (user + system) of the whole compile and report, best of three.
cpu() {
  local best="" t
  for _ in 1 2 3; do
    /usr/bin/time -f "%U %S" -o "$WORK/time.txt" "$@" > /dev/null 2>&1
    t=$(awk '{print $1 + $2}' "$WORK/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}
L=$(cpu "$NAASC" "$WORK/resnet50.onnx" --target eyeriss --report --schedule=layer)
B=$(cpu "$NAASC" "$WORK/resnet50.onnx" --target eyeriss --report)
echo "\`naasc resnet50.onnx --target eyeriss --report --schedule=layer\`: $L CPU s (best of 3)  "
echo "\`naasc resnet50.onnx --target eyeriss --report\` (schedule search): $B CPU s (best of 3)"
