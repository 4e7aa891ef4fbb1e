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
bad=0
for f in "${files[@]}"; do
  if ! "$CF" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "$f: not formatted (clang-format-14 -i $f)"
    bad=$((bad + 1))
  fi
done
echo "check-format: ${#files[@]} files, $bad not formatted"
[ $bad = 0 ]
