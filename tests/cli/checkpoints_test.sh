#!/usr/bin/env bash
# The exporter on every checkpoint layout, as a user runs it.
#   checkpoints_test.sh EXPORTER LAYOUT_FIXTURES CASE
# Fixtures: tools/fixtures/layouts.py -> tests/fixtures_layouts/.
set -u
exe=$1 fixtures=$2 case=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case]: $*"; exit 1; }
run() { "$exe" "$@" >"$tmp/out.txt" 2>&1; echo $? >"$tmp/rc"; cat "$tmp/out.txt"; }
rc() { cat "$tmp/rc"; }
expect_rc() { [ "$(rc)" = "$1" ] || fail "exit status $(rc), expected $1"; }
expect_out() { grep -qF -- "$1" "$tmp/out.txt" || fail "output lacks: $1"; }
# export a layout fixture and check it validated
exports() {
    local dir=$1 feature=$2 out=$3
    run --model "$dir" --feature "$feature" "$out" >/dev/null
    expect_rc 0
    expect_out "All good, model saved at: $out/model.onnx"
    [ -s "$out/model.onnx" ] || fail "no model.onnx for $dir"
}

case $case in
every_layout)
    for name in sharded-safetensors f16-safetensors bf16-safetensors pytorch-bin pytorch-bin-legacy \
                bf16-pytorch-bin sharded-bin noncontiguous-bin tied-head-only; do
        for feature in masked-lm default; do
            exports "$fixtures/$name" "$feature" "$tmp/$name-$feature"
            expect_out "-[✓] all values close (atol: 1e-05)"
        done
        echo "ok $name"
    done ;;
layout_log)
    exports "$fixtures/sharded-safetensors" masked-lm "$tmp/a"
    expect_out "typeformer: weights: sharded safetensors (4 files), stored as F32"
    exports "$fixtures/f16-safetensors" masked-lm "$tmp/b"
    expect_out "typeformer: weights: safetensors, stored as F16, converted to float32 while written"
    exports "$fixtures/sharded-bin" masked-lm "$tmp/c"
    expect_out "typeformer: weights: sharded pytorch zip (4 files), stored as F32"
    exports "$fixtures/pytorch-bin-legacy" masked-lm "$tmp/d"
    expect_out "typeformer: weights: pytorch legacy, stored as F32" ;;
same_model_from_every_layout)
    # the same f32 weights in another layout give a byte-identical model (tied weights written once)
    for name in sharded-safetensors pytorch-bin pytorch-bin-legacy; do
        exports "$fixtures/$name" masked-lm "$tmp/$name"
    done
    for name in pytorch-bin pytorch-bin-legacy; do
        cmp -s "$tmp/sharded-safetensors/model.onnx" "$tmp/$name/model.onnx" || fail "$name exports a different model"
    done ;;
malicious_pickle)
    rm -f /tmp/typeformer-pickle-pwned
    mkdir -p "$tmp/o" && echo previous >"$tmp/o/model.onnx"
    run --model "$fixtures/malicious" --feature masked-lm "$tmp/o"
    expect_rc 2
    expect_out "[pickle.refused]"
    expect_out "refusing global posix.system"
    expect_out "nothing was executed"
    [ ! -e /tmp/typeformer-pickle-pwned ] || fail "the pickle's code ran"
    [ "$(cat "$tmp/o/model.onnx")" = previous ] || fail "the output folder changed"
    [ "$(ls -A "$tmp/o")" = model.onnx ] || fail "stray files: $(ls -A "$tmp/o")" ;;
truncated_bin)
    cp -r "$fixtures/pytorch-bin" "$tmp/model"
    truncate -s 20000 "$tmp/model/pytorch_model.bin"
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[zip.format]"
    expect_out "$tmp/model/pytorch_model.bin" ;;
missing_shard)
    cp -r "$fixtures/sharded-safetensors" "$tmp/model"
    rm "$tmp/model/model-00003-of-00004.safetensors"
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[checkpoint.index] $tmp/model/model.safetensors.index.json: shard model-00003-of-00004.safetensors"
    expect_out "is missing" ;;
no_weights)
    mkdir "$tmp/model" && cp "$fixtures/pytorch-bin/config.json" "$tmp/model/"
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[checkpoint.missing] $tmp/model: no weights in this folder (looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json)" ;;
hub_cache)
    # models--org--name/{refs/main, snapshots/<commit>/ -> ../../blobs/*}, as huggingface_hub lays it out
    repo="$tmp/cache/models--tiny-org--tiny-bert"
    mkdir -p "$repo/refs" "$repo/blobs" "$repo/snapshots/5eed"
    for f in "$fixtures/pytorch-bin"/*; do
        cp "$f" "$repo/blobs/$(basename "$f").blob"
        ln -s "../../blobs/$(basename "$f").blob" "$repo/snapshots/5eed/$(basename "$f")"
    done
    printf 5eed >"$repo/refs/main"
    HF_HUB_CACHE="$tmp/cache" run --model tiny-org/tiny-bert --feature masked-lm "$tmp/o"
    expect_rc 0
    expect_out "typeformer: tiny-org/tiny-bert (revision main) found in the Hugging Face cache at $repo/snapshots/5eed"
    expect_out "All good, model saved at: $tmp/o/model.onnx"
    # HF_HOME/hub, and a commit given as --revision
    mkdir -p "$tmp/home" && mv "$tmp/cache" "$tmp/home/hub"
    HF_HUB_CACHE= HF_HOME="$tmp/home" run --model tiny-org/tiny-bert --revision 5eed --feature masked-lm "$tmp/o2"
    expect_rc 0
    # the default: ~/.cache/huggingface/hub
    mkdir -p "$tmp/user/.cache/huggingface" && mv "$tmp/home/hub" "$tmp/user/.cache/huggingface/hub"
    HF_HUB_CACHE= HF_HOME= XDG_CACHE_HOME= HOME="$tmp/user" run --model tiny-org/tiny-bert "$tmp/o3"
    expect_rc 0
    HF_HUB_CACHE= HF_HOME= XDG_CACHE_HOME= HOME="$tmp/user" run --model tiny-org/tiny-bert --revision v9 "$tmp/o4"
    expect_rc 2
    expect_out "[hub.not_cached] tiny-org/tiny-bert: revision v9 is not in the cache"
    expect_out "cached refs: main" ;;
hub_not_cached)
    HF_HUB_CACHE="$tmp/empty" run --model someorg/missing-model "$tmp/o"
    expect_rc 2
    expect_out "[hub.not_cached] someorg/missing-model: no such folder, and not in the Hugging Face cache (looked for $tmp/empty/models--someorg--missing-model)"
    expect_out "huggingface-cli download someorg/missing-model"
    [ ! -e "$tmp/o" ] || fail "an output folder was created" ;;
fp16)
    # --dtype fp16: float16 initializers and outputs, about half the file, validated at the stated atol
    exports "$fixtures/pytorch-bin" masked-lm "$tmp/f32"
    run --model "$fixtures/pytorch-bin" --feature masked-lm --dtype fp16 "$tmp/f16"
    expect_rc 0
    expect_out "written as float16 (--dtype fp16: outputs float16, validation atol 0.01)"
    expect_out "-[✓] all values close (atol: 0.01)"
    a=$(stat -c %s "$tmp/f32/model.onnx") b=$(stat -c %s "$tmp/f16/model.onnx")
    # smaller, though not half: in this tiny model the graph (and one Cast per weight) outweighs the weights
    [ "$b" -lt "$a" ] || fail "fp16 model is $b bytes, fp32 is $a"
    # from an F16 checkpoint (copied as stored) and a BF16 one (rounded)
    for name in f16-safetensors bf16-pytorch-bin; do
        run --model "$fixtures/$name" --feature masked-lm --dtype fp16 "$tmp/$name"
        expect_rc 0
        expect_out "All good, model saved at: $tmp/$name/model.onnx"
    done
    # with external data: float16 tensors in model.onnx_data
    run --model "$fixtures/sharded-bin" --feature masked-lm --dtype fp16 --external-data "$tmp/ext"
    expect_rc 0
    [ -s "$tmp/ext/model.onnx_data" ] || fail "no model.onnx_data"
    run --model "$fixtures/pytorch-bin" --dtype int8 "$tmp/x"
    expect_rc 2
    expect_out "--dtype" ;;
help)
    run --help
    expect_rc 0
    for opt in --revision --dtype "Hugging Face repository id" pytorch_model.bin; do expect_out "$opt"; done ;;
*)
    fail "unknown case" ;;
esac
echo "ok [$case]"
