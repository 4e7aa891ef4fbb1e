#!/usr/bin/env bash
# test.sh: set up, build (release, ASan+UBSan and the fuzz harnesses), and run every test
# under ctest, then each fuzz harness for a fixed number of executions (tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --asan --fuzz
jobs=$(nproc 2>/dev/null || echo 2)
status=0
echo "== release build: ctest"
(cd build && ctest --output-on-failure -j"$jobs") || status=1
echo "== ASan+UBSan build: ctest"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE slow) || status=1
echo "== fuzz harnesses (libFuzzer, ASan+UBSan): bounded runs over their corpora"
(cd build-fuzz && ctest --output-on-failure -j"$jobs" -L fuzz) || status=1
exit $status
