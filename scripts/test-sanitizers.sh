#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer (GCC),
# bounded for CI: in build-san, the families library (and so the exporter and
# the model tests) holds the BERT, DistilBERT and GPT-2 families only
# (TYPEFORMER_FAMILIES; override with TYPEFORMER_SANITIZE_FAMILIES="bert;roberta"),
# and the tests that run are the library's (safetensors, checkpoints, ops,
# static checks, streaming and atomic output), those three families' model
# tests (GPT-2: the KV cache and generation) and the command-line tests.
# Left out: other families, compile-fail cases, the installed-package test, the examples,
# the docs table check (it needs every family) and the >2 GiB export (label
# large). Any ASan or UBSan report fails the test it occurs in.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-san
families=${TYPEFORMER_SANITIZE_FAMILIES:-bert;distilbert;gpt2}
flags="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
start=$(date +%s)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=San -DCMAKE_CXX_FLAGS_SAN="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS_SAN="-fsanitize=address,undefined" -DTYPEFORMER_FAMILIES="$families" \
      -DTYPEFORMER_BUILD_BENCH=OFF \
      ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
# the test executables: every tests/test_* (the model tests hold the families built)
targets=(typeformer-export)
while read -r t; do
    case $t in
        test_headers_compile) ;;
        test_*) targets+=("$t") ;;
    esac
done < <(cmake --build "$build" --target help | sed -n 's/^\(test_[a-z0-9_]*\): .*/\1/p' | sort -u)
echo "typeformer: sanitizer build of ${targets[*]}"
cmake --build "$build" -j2 --target "${targets[@]}"
built=$(date +%s)
cd "$build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:suppressions=$root/scripts/asan.supp
export LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --output-on-failure -j2 -LE large \
      -E '_NOT_BUILT|^compile_fail\.|^consumer\.|^example\.|^cli\.docs_feature_table$'
echo "typeformer: sanitizers: built in $((built - start)) s, tests ran in $(( $(date +%s) - built )) s"
