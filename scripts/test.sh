#!/usr/bin/env bash
# Installs what is missing, builds everything (library checks, exporter,
# tests, benchmarks' binaries, examples) and runs the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j2
cd "$root/build"
ctest --output-on-failure -j2
