#!/usr/bin/env bash
# before_after.sh: the cost-model and mapper benchmarks of an old commit and
# of this tree side by side in one run (issue 13's "no performance change").
#
#   bench/before_after.sh BUILD [OLD_COMMIT] [ROUNDS]
#
# BUILD is this tree's release build (bench_cost, bench_mapper, naasc built).
# OLD_COMMIT (default 7eed670, the commit before the restructuring) is taken
# with `git archive` into a temporary folder (no worktree, nothing added to
# the repository) and built there with BUILD's CMAKE_BUILD_TYPE and without
# MPI (bench targets only), so both sides are compiled alike; OLD_BUILD=DIR
# in the environment keeps that build in DIR and reuses it when DIR already
# has it (built from OLD_COMMIT: DIR/.commit says so).
# Then ROUNDS rounds (default 5), each running old and new one after the
# other, alternating which goes first, so load changes on a shared machine
# fall on both alike:
#   cost     bench_cost CASES --seconds S --reps 1: cost_eval evaluations per
#            CPU-second on a 4-level arch (its "cost_eval:" line);
#   mapper   bench_mapper eyeriss resnet18.onnx --budget BUDGET --long 1 --seed 1
#            --ref EMPTY: the default mapper's CPU time over ResNet-18's unique
#            layers (the empty reference file skips the long and exhaustive
#            reference searches, which this figure does not use and which
#            took most of the run's time).
# (BUDGET=N and SECONDS_COST=S in the environment; defaults 2000 and 1.)
# It prints each round and the medians, and new/old ratios (cost: > 1 is
# faster now; mapper time: < 1 is faster now).  Run it niced.  CPU time (per
# thread) is what both benchmarks measure, so other processes matter less
# than for wall time, but caches and frequency are shared.
set -euo pipefail
build=$(cd "$1" && pwd)
old=${2:-7eed670}
rounds=${3:-5}
budget=${BUDGET:-2000}   # mapper evaluations per layer (BUDGET=N)
root=$(cd "$(dirname "$0")/.." && pwd)
cases=$root/tests/data/timeloop/cases
tmp=$(mktemp -d /tmp/naasc-before-after.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")
oldb=${OLD_BUILD:-$tmp/old}
commit=$(git -C "$root" rev-parse "$old")
if [ ! -x "$oldb/build/bench/bench_mapper" ] || [ "$(cat "$oldb/.commit" 2>/dev/null)" != "$commit" ]; then
  rm -rf "$oldb/src" "$oldb/build"
  mkdir -p "$oldb/src"
  git -C "$root" archive "$old" | tar -x -C "$oldb/src"
  cmake -S "$oldb/src" -B "$oldb/build" -DCMAKE_BUILD_TYPE="${btype:-Release}" -DNAASC_MPI=OFF > /dev/null
  nice cmake --build "$oldb/build" -j2 --target bench_cost bench_mapper > "$oldb/build.log" 2>&1 ||
    { tail -20 "$oldb/build.log"; exit 1; }
  echo "$commit" > "$oldb/.commit"
fi
echo "old: $old ($commit), build type ${btype:-Release} on both sides"
ob=$oldb/build/bench nb=$build/bench
"$build/tools/naasc" zoo resnet18 --no-weights -o "$tmp/resnet18.onnx"
: > "$tmp/noref"
cost() { "$1/bench_cost" "$cases" --seconds "${SECONDS_COST:-1}" --reps 1 | sed -n 's/^cost_eval: \([0-9.]*\) evaluations.*/\1/p'; }
mapper() {
  "$1/bench_mapper" eyeriss "$tmp/resnet18.onnx" --budget "$budget" --long 1 --seed 1 --ref "$tmp/noref" |
    sed -n 's/.*default mapper time for its [0-9]* unique layers: \([0-9.]*\) s.*/\1/p' | head -1
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
: > "$tmp/co" ; : > "$tmp/cn" ; : > "$tmp/mo" ; : > "$tmp/mn"
printf '%-6s %14s %14s %12s %12s\n' round "cost old e/s" "cost new e/s" "map old s" "map new s"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    co=$(cost "$ob"); cn=$(cost "$nb"); mo=$(mapper "$ob"); mn=$(mapper "$nb")
  else
    cn=$(cost "$nb"); co=$(cost "$ob"); mn=$(mapper "$nb"); mo=$(mapper "$ob")
  fi
  echo "$co" >> "$tmp/co"; echo "$cn" >> "$tmp/cn"; echo "$mo" >> "$tmp/mo"; echo "$mn" >> "$tmp/mn"
  printf '%-6s %14s %14s %12s %12s\n' "$r" "$co" "$cn" "$mo" "$mn"
done
co=$(median < "$tmp/co") cn=$(median < "$tmp/cn") mo=$(median < "$tmp/mo") mn=$(median < "$tmp/mn")
printf '%-6s %14s %14s %12s %12s\n' median "$co" "$cn" "$mo" "$mn"
awk -v co="$co" -v cn="$cn" -v mo="$mo" -v mn="$mn" -v old="$old" 'BEGIN {
  printf "cost_eval throughput new/old: %.3f (>1: faster now)\n", cn / co
  printf "mapper time new/old: %.3f (<1: faster now); old = %s\n", mn / mo, old }'
