#!/usr/bin/env bash
# parse -> print of the graph-level text form (graph_parse, docs/ir.md) is
# byte-identical: for every zoo network, after import (--emit=graph) and
# after each graph pass (--print-ir-tree-dir's *.after.graph); then, with
# NODE_DIR (ONNX's backend node cases, conformance.gen), for every case
# naasc imports (the op-coverage models: every op's attributes).  Each dump
# is read by naasc-opt, which runs no pass on it and prints it back.  Also:
# lowering the dump gives the loop nests lowering the model gives (the same
# .nir but for the file name in `loc` and the weights line), for the zoo.
#   test_graph_roundtrip.sh NAASC_DIR WORKDIR [NODE_DIR]
set -uo pipefail
bin=$(cd "$1" && pwd) work=$2 node=${3:-}
[ -n "$node" ] && node=$(cd "$node" && pwd)
mkdir -p "$work"
cd "$work" || exit 1
pass=0 fail=0
same() { # dump label
  if "$bin/naasc-opt" "$1" -o "$1.2" 2> err.txt && cmp -s "$1" "$1.2"; then
    pass=$((pass + 1))
  else
    echo "FAIL $2: $(head -3 err.txt) $(cmp "$1" "$1.2" 2>&1 | head -1)"; fail=$((fail + 1))
  fi
}
for net in vgg16 resnet50 resnet18 unet mobilenetv2 squeezenet mnasnet alexnet bert-tiny gpt2-tiny \
           'nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'; do
  name=${net%%:*}
  "$bin/naasc" zoo "$net" --no-weights -o "$name.onnx" || { echo "FAIL zoo $net"; fail=$((fail + 1)); continue; }
  "$bin/naasc" "$name.onnx" --emit=graph -o "$name.graph" || { echo "FAIL $name: --emit=graph"; fail=$((fail + 1)); continue; }
  same "$name.graph" "$name --emit=graph"
  rm -rf "tree-$name"
  "$bin/naasc-opt" "$name.onnx" --print-ir-tree-dir="tree-$name" -o "$name.nir" 2> err.txt ||
    { echo "FAIL $name: tree dir: $(head -3 err.txt)"; fail=$((fail + 1)); continue; }
  for f in "tree-$name"/*.after.graph; do same "$f" "$name $(basename "$f")"; done
  # the dump lowers as the model does
  "$bin/naasc-opt" "$name.graph" -p 'fold-bn,fuse-act,lower,verify' -o "$name.g.nir" 2> err.txt &&
    sed "s/\"$name.graph:/\"$name.onnx:/" "$name.g.nir" > "$name.g2.nir" &&
    "$bin/naasc-opt" "$name.onnx" -p 'fold-bn,fuse-act,lower,verify' -o "$name.o.nir" 2>> err.txt &&
    grep -v '^weights "' "$name.o.nir" > "$name.o2.nir" # a dump names no weights file
  if cmp -s "$name.o2.nir" "$name.g2.nir"; then
    pass=$((pass + 1))
  else
    echo "FAIL $name: lowering the dump differs from lowering the model: $(head -3 err.txt)"; fail=$((fail + 1))
  fi
  echo "ok   $name"
done
if [ -n "$node" ]; then
  n=0 skipped=0
  for d in "$node"/node/test_*/; do
    c=$(basename "$d")
    if ! "$bin/naasc" "$d/model.onnx" --emit=graph -o "node-$c.graph" 2> /dev/null; then
      skipped=$((skipped + 1)); continue # refused on import: nothing to dump
    fi
    n=$((n + 1))
    same "node-$c.graph" "node case $c"
  done
  echo "node cases: $n dumped and read back, $skipped refused on import"
  [ $n -gt 0 ] || { echo "FAIL: no node case imported (is $node generated?)"; fail=$((fail + 1)); }
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
