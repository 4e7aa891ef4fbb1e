#!/usr/bin/env bash
# demo.sh: the main job on the bundled default.  Builds MobileNetV2 from the
# zoo, prints its per-layer summary, then runs the NAAS search within the
# Eyeriss budget (accelerator sizing and connectivity, and the mapping of
# every layer) and prints the searched design against Eyeriss itself as
# ratios (speedup, energy saving, EDP), Eyeriss best-mapped and as built
# (its own row-stationary dataflow), every design's mappings made with the
# same effort (naas_map_design; the effort is in result.json for each).
# Outputs: build/naasc-search/ (arch.yaml, mapped IR, cost reports, the
# candidate log, convergence and Pareto SVGs; docs/search.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/tools/naasc zoo mobilenetv2 -o build/mobilenetv2.onnx
build/tools/naasc build/mobilenetv2.onnx --summary | tail -n 4
echo "== NAAS search within the Eyeriss budget, against Eyeriss itself (best-mapped and as built) mapped with the same effort:"
build/tools/naasc --search build/mobilenetv2.onnx --budget eyeriss -o build/naasc-search
echo "design: build/naasc-search/arch.yaml (use it with --target), report: build/naasc-search/"
