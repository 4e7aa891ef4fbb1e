#!/usr/bin/env bash
# demo.sh: the main job on the bundled default: build ResNet-50 from the zoo,
# compile it and print its per-layer summary, then map every layer onto the
# eyeriss preset and print the cost report (JSON and SVG in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/tools/naasc zoo resnet50 -o build/resnet50.onnx
build/tools/naasc build/resnet50.onnx --summary
build/tools/naasc build/resnet50.onnx --target eyeriss --jobs 2 --report=build/resnet50.eyeriss.json
echo "report: build/resnet50.eyeriss.json, chart: build/resnet50.eyeriss.svg"
