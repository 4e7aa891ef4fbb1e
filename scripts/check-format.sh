#!/usr/bin/env bash
# check-format.sh: fails if a tracked C source or header differs from what
# clang-format-14 makes of it under the root's .clang-format (the house
# style of ../STYLE.md in clang-format's terms).  Run by ctest as
# check.format; fix a failure with:
#   git ls-files '*.c' '*.h' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format-14}
command -v "$CF" >/dev/null || { echo "check-format.sh: $CF is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
[ -f .clang-format ] || { echo "check-format.sh: no .clang-format at $(pwd)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h')
else
  mapfile -t files < <(find . -path ./build\* -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "check-format.sh: no C sources found" >&2; exit 2; }
# One clang-format process for every file (a process per file took minutes on
# a loaded machine); each file it would change is named in its diagnostics.
out=$("$CF" --style=file --dry-run -Werror "${files[@]}" 2>&1) && rc=0 || rc=$?
mapfile -t badfiles < <(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
for f in "${badfiles[@]}"; do
  echo "$f: not formatted ($CF -i $f)"
done
if [ "$rc" != 0 ] && [ ${#badfiles[@]} = 0 ]; then
  printf '%s\n' "$out" | head -20
  echo "check-format: $CF failed (exit $rc) without naming an unformatted file" >&2
  exit 2
fi
echo "check-format: ${#files[@]} files, ${#badfiles[@]} not formatted"
[ ${#badfiles[@]} = 0 ]
