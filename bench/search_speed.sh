#!/usr/bin/env bash
# search_speed.sh: the CPU time of one `naasc --search` under two builds,
# side by side in one run, and whether their outputs are the same
# (issue 14 item 8: a speed-up that must not change results).
#
#   bench/search_speed.sh NEW_NAASC OLD_NAASC ROUNDS SEARCH-ARGS...
#
# e.g. bench/search_speed.sh build/tools/naasc /tmp/old/tools/naasc 3 \
#        squeezenet --budget eyeriss --iterations 3 --popsize 6 --map-budget 200 --jobs 1
# ROUNDS rounds, each running old and new one after the other, alternating
# which goes first, so load changes on a shared machine fall on both alike.
# CPU time is user + sys of the whole process (/usr/bin/time), all threads.
# Prints each round, the medians and new/old; then compares the last
# round's outputs: result.json without its times (seconds, and the keys a
# newer build adds: precision), arch.yaml and search.json byte for byte.
set -euo pipefail
new=$(readlink -f "$1") old=$(readlink -f "$2") rounds=$3
shift 3
tmp=$(mktemp -d /tmp/naasc-search-speed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run() { # run NAASC TAG SEARCH-ARGS... -> CPU seconds
  local b=$1 tag=$2
  shift 2
  rm -rf "${tmp:?}/$tag"
  /usr/bin/time -f "%U %S" -o "$tmp/$tag.time" "$b" --search "$@" --no-progress -q -o "$tmp/$tag" \
    > /dev/null 2> "$tmp/$tag.err" || { cat "$tmp/$tag.err" >&2; exit 1; }
  awk '{printf "%.2f\n", $1 + $2}' "$tmp/$tag.time"
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
printf '%-6s %10s %10s\n' round "old cpu s" "new cpu s"
: > "$tmp/o"; : > "$tmp/n"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    o=$(run "$old" old "$@"); n=$(run "$new" new "$@")
  else
    n=$(run "$new" new "$@"); o=$(run "$old" old "$@")
  fi
  echo "$o" >> "$tmp/o"; echo "$n" >> "$tmp/n"
  printf '%-6s %10s %10s\n' "$r" "$o" "$n"
done
o=$(median < "$tmp/o") n=$(median < "$tmp/n")
printf '%-6s %10s %10s   new/old %.3f\n' median "$o" "$n" "$(awk -v o="$o" -v n="$n" 'BEGIN {print n / o}')"
python3 - "$tmp" <<'PY'
import filecmp, json, sys
t = sys.argv[1]
def res(v):
    r = json.load(open(f"{t}/{v}/result.json"))
    for k in ("seconds", "jobs", "ranks", "precision"):
        r.pop(k, None)
    for b in ("baseline", "baseline_as_built"):
        if isinstance(r.get(b), dict):
            r[b].pop("seconds", None)
    return r
same = [("result.json (no times)", res("old") == res("new"))]
same += [(f, filecmp.cmp(f"{t}/old/{f}", f"{t}/new/{f}", shallow=False)) for f in ("arch.yaml", "search.json")]
for name, ok in same:
    print(f"{name}: {'identical' if ok else 'DIFFERENT'}")
sys.exit(0 if all(ok for _, ok in same) else 1)
PY
