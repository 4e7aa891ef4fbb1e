#!/usr/bin/env bash
# A .nir file and its weights file (docs/ir.md, "Weights") compile to the
# same command stream as the ONNX model: for each model and target,
#   naasc M.onnx --target T -o a.cmd
#   naasc M.onnx --emit=nir -o M.nir          (writes M.nir.weights, named in M.nir)
#   naasc-opt M.nir -o sub/M.nir              (another folder: the reference follows)
#   naasc sub/M.nir --target T -o b.cmd
# and a.cmd, b.cmd are byte-identical.  Then bad weights files: altered,
# truncated, another model's, none named; each refused with its message.
#   test_weights.sh NAASC_DIR WORKDIR
set -uo pipefail
bin=$(cd "$1" && pwd) work=$2
src=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$work" && mkdir -p "$work/sub"
cd "$work" || exit 1
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
same_stream() { # name model.onnx target
  local name=$1 model=$2 t=$3
  "$bin/naasc" "$model" --target "$t" -o "$name.$t.a.cmd" 2> err.txt || { bad "$name $t: naasc: $(head -2 err.txt)"; return; }
  "$bin/naasc" "$model" --emit=nir -o "$name.nir" 2> err.txt || { bad "$name: --emit=nir: $(head -2 err.txt)"; return; }
  if grep -q " weight$" "$name.nir"; then # a model with weights names its weights file
    grep -q "^weights \"$name.nir.weights\"$" "$name.nir" || { bad "$name: $name.nir names no weights file"; return; }
  fi
  "$bin/naasc-opt" "$name.nir" -o "sub/$name.nir" 2> err.txt || { bad "$name: naasc-opt: $(head -2 err.txt)"; return; }
  "$bin/naasc" "sub/$name.nir" --target "$t" -o "$name.$t.b.cmd" 2> err.txt || { bad "$name $t: from .nir: $(head -2 err.txt)"; return; }
  if cmp -s "$name.$t.a.cmd" "$name.$t.b.cmd"; then
    ok "$name $t: the .nir's stream equals the ONNX model's ($(stat -c %s "$name.$t.a.cmd") bytes)"
  else
    bad "$name $t: the streams differ"
  fi
}
refused() { # what exit-code expected-message command...
  local what=$1 code=$2 want=$3; shift 3
  "$@" > /dev/null 2> err.txt
  local rc=$?
  if [ $rc -eq "$code" ] && grep -q -- "$want" err.txt; then
    ok "$what: refused ($(head -1 err.txt))"
  else
    bad "$what: exit $rc, expected $code and '$want': $(head -2 err.txt)"
  fi
}

"$bin/naasc" zoo squeezenet -o squeezenet.onnx || bad "zoo squeezenet"
for m in gemm matmul_batch4d misc_ops conv_relu; do
  "$PYTHON" "$src/golden/nir_models.py" "$m" "$m.onnx" || bad "nir_models.py $m"
done
for t in eyeriss nvdla-256; do
  for m in squeezenet gemm matmul_batch4d misc_ops conv_relu; do same_stream "$m" "$m.onnx" "$t"; done
done

# Bad weights files.
cp squeezenet.nir.weights keep.weights
size=$(stat -c %s squeezenet.nir.weights)
printf '\x55' | dd of=squeezenet.nir.weights bs=1 seek=$((size / 2)) conv=notrunc status=none
refused "one byte altered" 1 "checksum does not match" "$bin/naasc" squeezenet.nir --target eyeriss -o x.cmd
head -c $((size - 100)) keep.weights > squeezenet.nir.weights
refused "truncated" 1 "checksum does not match" "$bin/naasc" squeezenet.nir --target eyeriss -o x.cmd
cp gemm.nir.weights squeezenet.nir.weights
refused "another model's weights" 1 "not a weight of that type and shape" "$bin/naasc" squeezenet.nir --target eyeriss -o x.cmd
cp keep.weights squeezenet.nir.weights
grep -v '^weights ' squeezenet.nir > noref.nir
refused "no weights file named" 1 "names no weights file" "$bin/naasc" noref.nir --target eyeriss -o x.cmd
refused "a .nir has no graph (usage)" 2 "has no graph" "$bin/naasc" squeezenet.nir --emit=graph
# A model without weight values names no weights file.
"$bin/naasc" zoo squeezenet --no-weights -o nw.onnx && "$bin/naasc" nw.onnx --emit=nir -o nw.nir
if [ -f nw.nir ] && ! grep -q '^weights ' nw.nir && [ ! -e nw.nir.weights ]; then
  ok "no weight values: no weights file, none named"
else
  bad "no weight values: a weights file was named or written"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
