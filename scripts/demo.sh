#!/usr/bin/env bash
# demo.sh: the main job on the bundled default.  Builds MobileNetV2 from the
# zoo, prints its per-layer summary, then runs the NAAS search within the
# Eyeriss budget (accelerator sizing and connectivity, and the mapping of
# every layer) and prints the searched design against Eyeriss itself.
# Outputs: build/naasc-search/ (arch.yaml, mapped IR, cost reports, the
# candidate log, convergence and Pareto SVGs; docs/search.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/tools/naasc zoo mobilenetv2 -o build/mobilenetv2.onnx
build/tools/naasc build/mobilenetv2.onnx --summary | tail -n 4
echo "== Eyeriss with its own dataflow, every layer mapped:"
build/tools/naasc --search build/mobilenetv2.onnx --budget eyeriss --fixed -o build/naasc-eyeriss
echo "== NAAS search within the Eyeriss budget:"
build/tools/naasc --search build/mobilenetv2.onnx --budget eyeriss -o build/naasc-search
echo "design: build/naasc-search/arch.yaml (use it with --target), report: build/naasc-search/"
