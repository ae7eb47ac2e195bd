#!/usr/bin/env bash
# Install typeformer into a fresh prefix, build tests/consumer against it with
# find_package(typeformer) (and ONNX and ONNX Runtime where this build found
# them), run it on a fixture, and export the fixture with the exporter it made
# with typeformer_add_families.
#   consumer_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
ort_dir=$(sed -n 's/^onnxruntime_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
onnx_dir=$(sed -n 's/^ONNX_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
# no build type (no optimisation): this checks the package, not the speed
cmake -S "$src/tests/consumer" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE= \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" -Donnxruntime_DIR="$ort_dir" -DONNX_DIR="$onnx_dir" >/dev/null
cmake --build "$tmp/build" >/dev/null
"$tmp/build/consumer" "$src/tests/fixtures/bert/default"
"$tmp/build/consumer_export" "$src/tests/fixtures/bert/default" "$tmp/out"
test -f "$tmp/out/model.onnx"
