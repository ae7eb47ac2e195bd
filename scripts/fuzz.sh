#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.cpp, clang, with ASan and UBSan)
# into build-fuzz and runs each for SECONDS (default 60) from its seed corpus
# fuzz/corpus/<name>/. New inputs go to build-fuzz/corpus/<name>/ (the seed
# corpus in the repository is left as it is); a crash, a leak or a UB report
# stops the run, writes the input as build-fuzz/crash-*, and fails the script.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 60 fuzz_config
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
shift || true
build=$root/build-fuzz
command -v clang++ >/dev/null || { echo "typeformer: fuzz.sh needs clang++ (scripts/install-deps.sh installs it)" >&2; exit 1; }
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DTYPEFORMER_BUILD_FUZZ=ON ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for src in "$root"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
cmake --build "$build" -j2 --target "${targets[@]}"
status=0
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    mkdir -p "$build/corpus/$name"
    echo "typeformer: fuzzing $t for ${seconds} s (seeds: fuzz/corpus/$name)"
    start=$(date +%s)
    if ! (cd "$build" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
          "corpus/$name" "$root/fuzz/corpus/$name" >"$build/$t.log" 2>&1); then
        tail -n 60 "$build/$t.log"
        echo "typeformer: $t FAILED (log: $build/$t.log; input: $(ls "$build"/crash-* "$build"/leak-* "$build"/timeout-* 2>/dev/null | tr '\n' ' '))" >&2
        status=1
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log")
    echo "typeformer: $t: no failure in $(( $(date +%s) - start )) s, ${runs:-?} inputs, corpus $(ls "$build/corpus/$name" | wc -l) new"
done
exit $status
