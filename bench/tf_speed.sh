#!/bin/sh
# tf_speed.sh: issue #17's two speed targets, in CPU seconds (user + sys, all
# threads, from /usr/bin/time; the machine is shared, so wall time is noisy).
#
#   bench/tf_speed.sh NAASC [WORK] [--no-search] [--old OLD_NAASC]
#
# 1. Compile BERT-base with mapping (target: under 5 s): `naasc MODEL
#    --target T --report` (the ONNX import, lowering, the mapper on every mac
#    layer, the schedule and the report) on eyeriss and nvdla-1024, the model
#    written by `naasc zoo bert-base` without and with its random weights
#    (438 MB), and `-o bert.cmd` (the command stream with its weights).
# 2. The search for BERT-base within a budget (target: under 3 minutes):
#    `naasc --search bert-base --budget B -o OUT` with naasc's defaults
#    (60 x 16 candidates, 1000 mapper evaluations each, --jobs = the CPUs).
# One run each; prints one line per command.
#
# --old OLD_NAASC: part 1 side by side instead, OLD then NAASC, three rounds
# (the best of three CPU seconds of each, their ratio, peak RSS and minor
# page faults, which are repeatable where time is not), and the command
# streams each writes (BERT-base on eyeriss, and ResNet-18 with its weights
# on eyeriss and nvdla-1024, a conv net) compared byte for byte with cmp; the
# models are written by OLD.  The search is not run.
# Exit codes: 0 ok, 1 a command failed or the streams differ.
set -eu
NAASC=$1
shift
WORK=/tmp/tf_speed
SEARCH=1
OLD=
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  WORK=$1
  shift
fi
while [ $# -gt 0 ]; do
  case $1 in
  --no-search) SEARCH=0 ;;
  --old)
    OLD=$2
    shift
    ;;
  *)
    echo "tf_speed.sh: unknown option '$1'" >&2
    exit 1
    ;;
  esac
  shift
done
mkdir -p "$WORK"
measure() { # LABEL CMD...: one line, CPU and wall seconds and peak RSS
  label=$1
  shift
  /usr/bin/time -f "%U %S %e %M %R" -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || {
    echo "$label: FAILED"
    cat "$WORK/out"
    exit 1
  }
  awk -v l="$label" '{ printf "%-46s %6.2f CPU s (user %.2f + sys %.2f)  wall %6.1f s  peak RSS %5.0f MB\n", l, $1 + $2, $1, $2, $3, $4 / 1024 }' "$WORK/time"
}
if [ -n "$OLD" ]; then
  "$OLD" zoo bert-base --no-weights -o "$WORK/bert-nw.onnx" >/dev/null
  "$OLD" zoo bert-base --seed 0 -o "$WORK/bert.onnx" >/dev/null
  "$OLD" zoo resnet18 --seed 1 -o "$WORK/resnet18.onnx" >/dev/null
  pair() { # LABEL OUT ARGS...: OLD and NAASC three rounds each, alternately
    label=$1
    out=$2
    shift 2
    : >"$WORK/times"
    for round in 1 2 3; do
      for which in old new; do
        bin=$NAASC
        [ $which = old ] && bin=$OLD
        o=
        [ "$out" = - ] || o="$WORK/$which.$out"
        if [ -n "$o" ]; then
          /usr/bin/time -f "$which %U %S %M %R" -a -o "$WORK/times" "$bin" "$@" -o "$o" >"$WORK/out" 2>&1
        else
          /usr/bin/time -f "$which %U %S %M %R" -a -o "$WORK/times" "$bin" "$@" >"$WORK/out" 2>&1
        fi || {
          echo "$label ($which): FAILED"
          cat "$WORK/out"
          exit 1
        }
      done
    done
    awk -v l="$label" '
      { c = $2 + $3; if (!($1 in best) || c < best[$1]) best[$1] = c; rss[$1] = $4; flt[$1] = $5 }
      END { printf "%-42s old %5.2f  new %5.2f CPU s (best of 3)  %5.2fx  peak RSS %5.0f -> %5.0f MB  minor faults %6.1f k -> %6.1f k\n",
            l, best["old"], best["new"], best["old"] / best["new"], rss["old"] / 1024, rss["new"] / 1024, flt["old"] / 1000, flt["new"] / 1000 }' "$WORK/times"
    if [ "$out" != - ]; then
      if cmp -s "$WORK/old.$out" "$WORK/new.$out"; then
        echo "  $out: byte-identical ($(wc -c <"$WORK/new.$out") bytes)"
      else
        echo "  $out: the streams DIFFER"
        exit 1
      fi
    fi
  }
  for t in eyeriss nvdla-1024; do
    pair "bert-base, no weights, $t, --report" - "$WORK/bert-nw.onnx" --target $t --report
    pair "bert-base, weights, $t, --report" - "$WORK/bert.onnx" --target $t --report
  done
  pair "bert-base, weights, eyeriss, -o bert.cmd" bert.cmd "$WORK/bert.onnx" --target eyeriss
  for t in eyeriss nvdla-1024; do
    pair "resnet18, weights, $t, -o r18.cmd" r18-$t.cmd "$WORK/resnet18.onnx" --target $t
  done
  exit 0
fi
"$NAASC" zoo bert-base --no-weights -o "$WORK/bert-nw.onnx" >/dev/null
"$NAASC" zoo bert-base --seed 0 -o "$WORK/bert.onnx" >/dev/null
for t in eyeriss nvdla-1024; do
  measure "bert-base, no weights, $t, --report" "$NAASC" "$WORK/bert-nw.onnx" --target $t --report
  measure "bert-base, weights, $t, --report" "$NAASC" "$WORK/bert.onnx" --target $t --report
done
measure "bert-base, weights, eyeriss, -o bert.cmd" "$NAASC" "$WORK/bert.onnx" --target eyeriss -o "$WORK/bert.cmd"
[ $SEARCH = 0 ] && exit 0
for b in eyeriss nvdla-1024; do
  measure "naasc --search bert-base --budget $b" "$NAASC" --search bert-base --budget $b -o "$WORK/search-$b" --no-progress -q
  /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print("  %d candidates, %d cost evaluations, EDP %.6g, --jobs %d" % (r["candidates"], r["evals"], r["edp"], r["jobs"]))' "$WORK/search-$b/result.json"
done
