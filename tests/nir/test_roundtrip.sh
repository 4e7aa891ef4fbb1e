#!/usr/bin/env bash
# print -> parse -> print of the loop-nest IR is byte-identical, after
# lowering and after mapping: for every zoo network (no OCR_CACHE), or for
# the three real OCR models in OCR_CACHE (all three must be there: if any is
# missing the test says which and exits 77, which ctest reports as skipped,
# never as passed).
#   test_roundtrip.sh NAASC_DIR WORKDIR TARGET [OCR_CACHE]
set -uo pipefail
bin=$(cd "$1" && pwd) work=$2 target=$3 ocr=${4:-}
[ -e "$target" ] && target=$(realpath "$target") # a file; else a preset name
mkdir -p "$work"
cd "$work" || exit 1
pass=0 fail=0
check() { # name model.onnx [extra naasc flags]
  local name=$1 model=$2; shift 2
  for stage in lowered mapped; do
    local flags=(--emit=nir)
    [ $stage = mapped ] && flags+=(--target "$target" -p 'fold-bn,fuse-act,lower,map{budget=200},verify')
    if ! "$bin/naasc" "$model" "$@" "${flags[@]}" -o "$name.$stage.nir" 2> err.txt; then
      echo "FAIL $name $stage: naasc: $(head -3 err.txt)"; fail=$((fail + 1)); continue
    fi
    local t=()
    [ $stage = mapped ] && t=(--target "$target")
    if "$bin/naasc-opt" "$name.$stage.nir" "${t[@]}" -o "$name.$stage.2.nir" 2> err.txt &&
       cmp -s "$name.$stage.nir" "$name.$stage.2.nir"; then
      echo "ok   $name $stage ($(grep -c '^nest ' "$name.$stage.nir") nests, $(grep -c '  map ' "$name.$stage.nir") mapped)"
      pass=$((pass + 1))
    else
      echo "FAIL $name $stage: not byte-identical: $(head -3 err.txt)"; fail=$((fail + 1))
    fi
  done
}
if [ -n "$ocr" ]; then
  missing=()
  for f in ch_PP-OCRv4_det_infer ch_PP-OCRv4_rec_infer ch_ppocr_mobile_v2.0_cls_infer; do
    [ -f "$ocr/$f.onnx" ] || missing+=("$f.onnx")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "SKIP: not in $ocr: ${missing[*]} (realmodels.ocr or scripts/fetch-ocr-models.sh fetches them)"
    exit 77
  fi
  check ocr_det "$ocr/ch_PP-OCRv4_det_infer.onnx" --input-shape x=1x3x640x640
  check ocr_rec "$ocr/ch_PP-OCRv4_rec_infer.onnx" --input-shape x=1x3x48x320
  check ocr_cls "$ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx" --input-shape x=1x3x48x192
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ]
  exit
fi
for net in vgg16 resnet50 resnet18 unet mobilenetv2 squeezenet mnasnet alexnet \
           'nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'; do
  name=${net%%:*}
  "$bin/naasc" zoo "$net" --no-weights -o "$name.onnx" || { echo "FAIL zoo $net"; fail=$((fail + 1)); continue; }
  check "$name" "$name.onnx"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
