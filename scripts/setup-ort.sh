#!/usr/bin/env bash
# setup-ort.sh: installs onnxruntime-node 1.30.0 from the npm registry into a
# cache directory, as the reference that tests/realmodels/ort_run.js runs
# real models on (naasc-run's outputs are compared with it).
#
# Usage: scripts/setup-ort.sh [DIR]
#   DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/naasc/ort-1.30.0; inside
#   the source tree only a git-ignored folder (a build tree) is taken.
#   On success the last line printed is DIR.
#
# How: tests/realmodels/ort/package.json pins onnxruntime-node to 1.30.0 and
# its package-lock.json pins every package of the install (onnxruntime-node,
# onnxruntime-common and the small helpers of its install script) by version
# and sha512 integrity; `npm ci` installs exactly that lock and refuses a
# tarball whose integrity differs (EINTEGRITY).  --ignore-scripts skips the
# package's post-install step, which downloads GPU providers from outside the
# npm registry and cannot work here; the CPU binding it needs ships in the
# tarball (bin/napi-v6/<platform>/<arch>/onnxruntime_binding.node).
#
# Invariants:
# - DIR/.installed holds the sha256 of the package-lock.json installed and is
#   written last, after `node` has loaded the binding and reported version
#   1.30.0: when it matches the lock in the tree, nothing is done again.
# - npm runs with --prefer-offline: tarballs already in npm's cache are used
#   without asking the registry.
#
# Exit codes: 0 ok, 1 failure (integrity, npm or node missing, a binding that
# does not load), 2 bad usage, 77 "SKIP: npm registry unreachable" (network
# errors only).
#
# Environment: NPM (default npm) and NODE (default node) are the commands;
# npm's own settings (npm_config_registry, npm_config_cache, ...) apply.
set -euo pipefail

VERSION="1.30.0"
NPM="${NPM:-npm}"
NODE="${NODE:-node}"

die() { echo "setup-ort: error: $*" >&2; exit 1; }

if [ $# -gt 1 ]; then
  echo "usage: $0 [DIR]" >&2
  exit 2
fi
SRC_ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
LOCKDIR="$SRC_ROOT/tests/realmodels/ort"
DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/naasc/ort-$VERSION}"
DIR="$(realpath -m "$DIR")"
case "$DIR/" in
  "$SRC_ROOT"/*)
    if ! git -C "$SRC_ROOT" check-ignore -q "$DIR/" 2>/dev/null; then
      die "DIR $DIR is inside the source tree $SRC_ROOT and not git-ignored"
    fi ;;
esac
command -v "$NODE" >/dev/null 2>&1 || die "'$NODE' not found: install Node.js (Debian package nodejs)"
command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found: install npm (Debian package npm)"
mkdir -p "$DIR" || die "cannot create $DIR"

exec 9>"$DIR/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

want="$(sha256sum "$LOCKDIR/package-lock.json" | cut -d' ' -f1)"
# The version the binding reports once loaded (the check after an install too).
probe() {
  (cd "$DIR" && "$NODE" -e '
    const ort = require("onnxruntime-node");
    const v = ort.env.versions;
    if (v.node !== process.argv[1]) { console.error("onnxruntime-node " + v.node); process.exit(1); }
    console.log("onnxruntime-node " + v.node + " (common " + v.common + ")");' "$VERSION")
}

if [ -f "$DIR/.installed" ] && [ "$(cat "$DIR/.installed")" = "$want" ] && probe >/dev/null 2>&1; then
  echo "setup-ort: $DIR up to date ($(probe))"
  echo "$DIR"
  exit 0
fi
rm -f "$DIR/.installed"

cp "$LOCKDIR/package.json" "$LOCKDIR/package-lock.json" "$DIR/"
echo "setup-ort: npm ci (onnxruntime-node@$VERSION, pinned by tests/realmodels/ort/package-lock.json)"
set +e
(cd "$DIR" && "$NPM" ci --ignore-scripts --prefer-offline --no-audit --no-fund \
     --fetch-retries=1 --fetch-timeout=60000 --loglevel=error) >"$DIR/npm.log" 2>&1
rc=$?
set -e
if [ $rc -ne 0 ]; then
  cat "$DIR/npm.log" >&2
  if grep -Eq 'EINTEGRITY' "$DIR/npm.log"; then
    die "npm reports an integrity failure installing onnxruntime-node@$VERSION"
  fi
  if grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ECONNABORTED|network request|request to .* failed' \
       "$DIR/npm.log"; then
    echo "SKIP: npm registry unreachable"
    exit 77
  fi
  die "npm ci failed (exit $rc); log in $DIR/npm.log"
fi
got="$(probe)" || die "onnxruntime-node does not load on this machine ($(uname -sm)); see the error above"
echo "$want" >"$DIR/.installed"
echo "setup-ort: $got in $DIR"
echo "$DIR"
