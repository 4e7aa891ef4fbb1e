#!/usr/bin/env bash
# test.sh: set up, build (release and ASan+UBSan), and run every test under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --asan
jobs=$(nproc 2>/dev/null || echo 2)
status=0
echo "== release build: ctest"
(cd build && ctest --output-on-failure -j"$jobs") || status=1
echo "== ASan+UBSan build: ctest"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE slow) || status=1
exit $status
