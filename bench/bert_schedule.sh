#!/bin/sh
# bert_schedule.sh NAASC BERT.onnx: BERT-base's best whole-network schedule
# against layer by layer on eyeriss and nvdla-1024 (the report's
# "schedule:" line: DRAM words, energy, cycles, EDP), and layer 0's
# attention fused alone on eyeriss (Q x K^T -> scale -> softmax -> x V over
# tiles of 8 query rows, K^T and V read per tile) against its nests alone.
# For docs/results.md, "Attention fusion on BERT-base"; BERT.onnx from
# `naasc zoo bert-base -o BERT.onnx`.
set -e
N=$1
M=$2
for t in eyeriss nvdla-1024; do
  r=$("$N" "$M" --target $t --schedule=best --report | grep '^schedule:' || true)
  echo "$t: ${r:-no group: its best schedule is layer by layer}"
done
S=$(mktemp)
printf 'schedule bert-base target eyeriss\ngroup layer.0.attention.scores layer.0.attention.scale layer.0.attention.softmax layer.0.attention.context : depth-first tile=8x64 overlap=recompute weights=dram home=glb\n' > "$S"
echo "eyeriss, layer 0's attention fused:"
"$N" "$M" --target eyeriss --schedule="$S" --report | grep -A2 '^schedule:' | tail -2 | tr -s ' '
rm -f "$S"
