#!/usr/bin/env bash
# demo.sh: the main job on the bundled default: build ResNet-50 from the zoo,
# compile it and print its per-layer summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/tools/naasc zoo resnet50 -o build/resnet50.onnx
build/tools/naasc build/resnet50.onnx --summary
