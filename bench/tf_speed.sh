#!/bin/sh
# tf_speed.sh: issue #17's two speed targets, in CPU seconds (user + sys, all
# threads, from /usr/bin/time; the machine is shared, so wall time is noisy).
#
#   bench/tf_speed.sh NAASC [WORK] [--no-search]
#
# 1. Compile BERT-base with mapping (target: under 5 s): `naasc MODEL
#    --target T --report` (the ONNX import, lowering, the mapper on every mac
#    layer, the schedule and the report) on eyeriss and nvdla-1024, the model
#    written by `naasc zoo bert-base` without and with its random weights
#    (438 MB), and `-o bert.cmd` (the command stream with its weights).
# 2. The search for BERT-base within a budget (target: under 3 minutes):
#    `naasc --search bert-base --budget B -o OUT` with naasc's defaults
#    (60 x 16 candidates, 1000 mapper evaluations each, --jobs = the CPUs).
# One run each; prints one line per command.  Exit codes: 0 ok, 1 a command failed.
set -eu
NAASC=$1
WORK=${2:-/tmp/tf_speed}
mkdir -p "$WORK"
measure() { # LABEL CMD...: one line, CPU and wall seconds and peak RSS
  label=$1
  shift
  /usr/bin/time -f "%U %S %e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || {
    echo "$label: FAILED"
    cat "$WORK/out"
    exit 1
  }
  awk -v l="$label" '{ printf "%-46s %6.2f CPU s (user %.2f + sys %.2f)  wall %6.1f s  peak RSS %5.0f MB\n", l, $1 + $2, $1, $2, $3, $4 / 1024 }' "$WORK/time"
}
"$NAASC" zoo bert-base --no-weights -o "$WORK/bert-nw.onnx" >/dev/null
"$NAASC" zoo bert-base --seed 0 -o "$WORK/bert.onnx" >/dev/null
for t in eyeriss nvdla-1024; do
  measure "bert-base, no weights, $t, --report" "$NAASC" "$WORK/bert-nw.onnx" --target $t --report
  measure "bert-base, weights, $t, --report" "$NAASC" "$WORK/bert.onnx" --target $t --report
done
measure "bert-base, weights, eyeriss, -o bert.cmd" "$NAASC" "$WORK/bert.onnx" --target eyeriss -o "$WORK/bert.cmd"
[ "${3:-}" = --no-search ] && exit 0
for b in eyeriss nvdla-1024; do
  measure "naasc --search bert-base --budget $b" "$NAASC" --search bert-base --budget $b -o "$WORK/search-$b" --no-progress -q
  /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print("  %d candidates, %d cost evaluations, EDP %.6g, --jobs %d" % (r["candidates"], r["evals"], r["edp"], r["jobs"]))' "$WORK/search-$b/result.json"
done
