#!/usr/bin/env bash
# fuzz.sh: a fuzzing campaign, one harness at a time, each one libFuzzer
# process (one core), for SECONDS each (default 300).
#
#   scripts/fuzz.sh [--cpu [--resume]] [SECONDS] [HARNESS ...]   (default: every harness of tests/fuzz)
#
# SECONDS is wall-clock time per harness; with --cpu it is CPU time (user + system of the
# fuzzing processes), for a campaign on a shared machine: the harness then runs in rounds
# of at most 600 s wall, each continuing from the working corpus, until its CPU time reaches
# SECONDS. The table's "CPU s" column is measured in both modes.
# --resume (with --cpu) continues a campaign that was stopped: after every round a harness's
# CPU seconds, executions and wall seconds so far go to build-fuzz/campaign/NAME/progress, and
# a resumed harness starts from them (and keeps the artifacts of the stopped run, which
# a fresh start deletes) until its CPU time reaches SECONDS; a finished harness's progress
# file is removed, so resuming it starts a new campaign.
#
# Builds build-fuzz/ first (scripts/setup.sh --fuzz; NAASC_NO_BUILD=1 skips it).
# NAASC_FUZZ_FORK=N runs N fuzzing children at once (-fork=N, N cores; default 1); the
# CPU seconds count them all, so a harness's CPU-hour takes 1/N of the wall time.
# Each harness fuzzes in fork mode (-fork=1 by default: one child at a time, going on past a crash,
# a timeout or an out-of-memory) from tests/fuzz/NAME/{corpus,regressions} into a working
# corpus build-fuzz/campaign/NAME/corpus that later campaigns continue from.
# What it finds: every crash, leak, sanitizer report, timeout (25 s) or out-of-memory input
# is run again alone; one input per distinct report (its SUMMARY line) that is not already a
# regression goes into tests/fuzz/NAME/regressions/ with a note (NAME.note: the report, the
# campaign, how to reproduce), to be fixed and committed with its fix (tests/fuzz/README.md).
# The table of the campaign (executions, edges covered, features, corpus size, seconds,
# findings per harness) is printed and written to build-fuzz/campaign/results.md (each run of
# fuzz.sh starts that table anew; every finished harness's row is also appended, with the
# date and commit, to build-fuzz/campaign/history.md, which no run truncates).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cpu_mode=0
resume=0
if [ "${1:-}" = --cpu ]; then cpu_mode=1; shift; fi
if [ "${1:-}" = --resume ]; then
  [ $cpu_mode = 1 ] || { echo "fuzz.sh: --resume goes with --cpu" >&2; exit 2; }
  resume=1
  shift
fi
forks=${NAASC_FUZZ_FORK:-1}
case "$forks" in '' | *[!0-9]* | 0) echo "fuzz.sh: NAASC_FUZZ_FORK must be a positive number, not '$forks'" >&2; exit 2 ;; esac
secs=${1:-300}
shift || true
case "$secs" in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a number, not '$secs'" >&2; exit 2 ;; esac

if [ "${NAASC_NO_BUILD:-0}" != 1 ]; then
  scripts/setup.sh --fuzz
fi
bin=build-fuzz/tests/fuzz
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    harnesses+=("${n#fuzz_}")
  done
fi

camp=build-fuzz/campaign
mkdir -p "$camp"
results=$camp/results.md
{
  if [ $cpu_mode = 1 ]; then per="${secs} CPU s"; else per="${secs} s"; fi
  echo "Campaign of $(date -u +%Y-%m-%dT%H:%MZ), $per per harness, one process each, on $(nproc) cores"
  echo "($(git rev-parse --short HEAD 2>/dev/null || echo '?'); libFuzzer -fork=$forks, ASan+UBSan, clang $(clang-14 --version | head -1 | sed 's/.*version //;s/ .*//'))."
  echo
  echo "| harness | executions | edges (cov) | features (ft) | corpus | wall s | CPU s | new findings |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$results"

total_found=0
for h in "${harnesses[@]}"; do
  exe=$bin/fuzz_$h
  src=tests/fuzz/$h
  if [ ! -x "$exe" ] || [ ! -d "$src/corpus" ]; then
    echo "fuzz.sh: no harness '$h' (built: $(ls $bin | sed -n 's/^fuzz_//p' | tr '\n' ' '))" >&2
    exit 2
  fi
  work=$camp/$h
  mkdir -p "$work/corpus" "$work/artifacts"
  execs=0 cpu=0 wall0=0 last=''
  if [ $resume = 1 ] && [ -f "$work/progress" ]; then
    read -r cpu execs wall0 < "$work/progress"
    case "$cpu$execs$wall0" in '' | *[!0-9]*) echo "fuzz.sh: $work/progress is not 'CPU EXECS WALL'" >&2; exit 2 ;; esac
  else
    rm -f "$work/artifacts/"* "$work/progress"
  fi
  args=(-fork="$forks" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
        -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$work/artifacts/")
  [ -f "$src/$h.dict" ] && args+=(-dict="$src/$h.dict")
  if [ $cpu_mode = 1 ]; then echo "== $h: ${secs} CPU s"; else echo "== $h: ${secs} s"; fi
  [ "$cpu" -gt 0 ] && echo "   resumed at $cpu CPU s, $execs executions"
  [ "$cpu" -gt 0 ] || : > "$work/log"
  t0=$(date +%s)
  while [ $cpu_mode = 0 ] || [ "$cpu" -lt "$secs" ]; do
    if [ $cpu_mode = 1 ]; then
      round=$(( (secs - cpu) * 2 ))
      [ $round -gt 600 ] && round=600
      [ $round -lt 30 ] && round=30
    else
      round=$secs
    fi
    # CPU time of the round: user + system of the waited-for fuzzing processes (GNU time
    # counts the fork-mode children, which the parent waits for).
    /usr/bin/time -f 'cpu %U %S' -o "$work/time" \
      "$exe" "${args[@]}" -max_total_time="$round" "$work/corpus" "$src/corpus" "$src/regressions" \
      > "$work/round.log" 2>&1 || true
    cat "$work/round.log" >> "$work/log"
    c=$(awk '/^cpu /{printf "%d", $2 + $3}' "$work/time")
    cpu=$((cpu + ${c:-0}))
    rlast=$(grep -E '^#[0-9]+: cov: ' "$work/round.log" | tail -1 || true)
    [ -n "$rlast" ] && last=$rlast && execs=$((execs + $(echo "$rlast" | sed -n 's/^#\([0-9]*\):.*/\1/p')))
    if [ $cpu_mode = 1 ]; then
      echo "$cpu $execs $(($(date +%s) - t0 + wall0))" > "$work/progress.tmp"
      mv -f "$work/progress.tmp" "$work/progress"
    fi
    [ $cpu_mode = 1 ] && [ $cpu -lt "$secs" ] && [ -n "$rlast" ] || break
    echo "   round done: $cpu of ${secs} CPU s"
  done
  t1=$(date +%s)
  rm -f "$work/progress"
  [ -n "$last" ] || last=$(grep -E '^#[0-9]+: cov: ' "$work/log" | tail -1 || true)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(ls "$work/corpus" | wc -l)

  # Findings: each artifact run alone; one regression input per new distinct report.
  found=0
  for a in "$work/artifacts/"*; do
    [ -f "$a" ] || continue
    # Kept already (a resumed run keeps the stopped run's artifacts): its note says what it was.
    [ -e "$src/regressions/$(basename "$a")" ] && continue
    out=$("$exe" -timeout=25 -rss_limit_mb=2560 "$a" 2>&1 || true)
    report=$(echo "$out" | grep -E -m1 '^(SUMMARY: |fuzz: .*:[0-9]+: )' | sed -E 's/0x[0-9a-f]+/ADDR/g; s/ in [^ ]*\+ADDR//' || true)
    if [ -z "$report" ]; then
      case $(basename "$a") in
        timeout-*) report="timeout (over 25 s on one input)" ;;
        oom-*) report="out of memory (over 2560 MB)" ;;
        *) report="$(basename "$a" | cut -d- -f1): does not reproduce alone" ;;
      esac
    fi
    if grep -rqF -- "report: $report" "$src/regressions/" 2>/dev/null; then continue; fi
    name=$(basename "$a")
    cp "$a" "$src/regressions/$name"
    {
      echo "harness: $h"
      echo "report: $report"
      echo "found: $(date -u +%Y-%m-%d) by scripts/fuzz.sh $secs (campaign at $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
      echo "reproduce: $exe tests/fuzz/$h/regressions/$name"
      echo "status: open (fix it, then say here what was wrong and which commit fixed it)"
    } > "$src/regressions/$name.note"
    echo "   new finding: $report -> $src/regressions/$name"
    found=$((found + 1))
  done
  total_found=$((total_found + found))
  row="| $h | ${execs:-?} | ${cov:-?} | ${ft:-?} | $corp | $((t1 - t0 + wall0)) | $cpu | $found |"
  echo "$row" >> "$results"
  echo "$row <!-- $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?') -->" >> "$camp/history.md"
done

echo
cat "$results"
echo
echo "table: $root/$results"
[ $total_found -eq 0 ] || echo "fuzz.sh: $total_found new findings in tests/fuzz/*/regressions (see their .note files)"
