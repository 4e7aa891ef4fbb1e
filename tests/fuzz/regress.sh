#!/bin/sh
# regress.sh BIN DIR WORK RUNS: the bounded libFuzzer run of one harness (ctest fuzz.run.NAME):
# RUNS executions, seed 1, over DIR/corpus and DIR/regressions (read, never written: new inputs go
# to WORK/new, a crash to WORK/artifacts), with DIR/NAME.dict when there is one.  Fails on any
# crash, leak, sanitizer report, timeout (25 s per input) or RSS over 2.5 GB.
set -eu
bin=$1 dir=$2 work=$3 runs=$4
name=$(basename "$dir")
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
set -- -runs="$runs" -seed=1 -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/"
[ -f "$dir/$name.dict" ] && set -- "$@" -dict="$dir/$name.dict"
exec "$bin" "$@" "$work/new" "$dir/corpus" "$dir/regressions"
