#!/usr/bin/env bash
# The supported-ops table in docs/user-guide.md equals what the binary prints.
set -euo pipefail
naasc=$1 doc=$2
want=$("$naasc" --list-ops --format=markdown)
got=$(sed -n '/<!-- BEGIN ops -->/,/<!-- END ops -->/p' "$doc" | sed '1d;$d')
if [ "$want" != "$got" ]; then
  echo "docs/user-guide.md's ops table is stale; regenerate it with: naasc --list-ops --format=markdown"
  diff <(echo "$want") <(echo "$got") || true
  exit 1
fi
echo "ops table: $(echo "$want" | tail -n +3 | wc -l) ops, up to date"
