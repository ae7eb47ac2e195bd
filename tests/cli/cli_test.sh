#!/usr/bin/env bash
# The command-line exporter as a user runs it: one case per ctest entry.
#   cli_test.sh EXPORTER FIXTURES CASE
# Each case checks the exit status, the message and what is left on disk.
set -u
exe=$1 fixtures=$2 case=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case]: $*"; exit 1; }
# run the exporter, keep its output and status
run() { "$exe" "$@" >"$tmp/out.txt" 2>&1; echo $? >"$tmp/rc"; cat "$tmp/out.txt"; }
rc() { cat "$tmp/rc"; }
expect_rc() { [ "$(rc)" = "$1" ] || fail "exit status $(rc), expected $1"; }
expect_out() { grep -qF -- "$1" "$tmp/out.txt" || fail "output lacks: $1"; }
# a copy of a fixture with config.json edited by a sed expression
edited() { cp -r "$fixtures/$1" "$tmp/model"; sed -i "$2" "$tmp/model/config.json"; }
here=$(cd "$(dirname "$0")" && pwd)
# a copy of bert/default in $tmp/model with model.safetensors damaged as $1 says
# (tests/fixtures_damaged/, written by tools/fixtures/damaged.py)
damaged() { cp -r "$here/../fixtures_damaged/$1" "$tmp/model" || fail "no damaged fixture $1"; }
# an output folder holding a previous export, and the check that it is untouched
previous() {
    mkdir -p "${1:-$tmp/o}"
    echo previous >"${1:-$tmp/o}/model.onnx"
    echo previous-data >"${1:-$tmp/o}/model.onnx_data"
    echo '{"previous": true}' >"${1:-$tmp/o}/config.json"
}
expect_intact() {
    local o=${1:-$tmp/o}
    [ "$(cat "$o/model.onnx")" = previous ] || fail "model.onnx was replaced"
    [ "$(cat "$o/model.onnx_data")" = previous-data ] || fail "model.onnx_data was replaced"
    [ "$(cat "$o/config.json")" = '{"previous": true}' ] || fail "config.json was replaced"
    [ "$(ls -A "$o" | tr '\n' ' ')" = "config.json model.onnx model.onnx_data " ] || fail "files left: $(ls -A "$o")"
}
# a bad input: exit status 2, the message, the previous export intact
refused() {
    previous
    run "$@" "$tmp/o"
    expect_rc 2
}

case $case in
every_feature)
    # the families this build has (all but in a TYPEFORMER_FAMILIES build)
    types=" $("$exe" --list-models | cut -d: -f1 | tr '\n' ' ')"
    for dir in "$fixtures"/*/*/; do
        feature=$(basename "$dir")
        o="$tmp/o-$(basename "$(dirname "$dir")")-$feature"  # a folder per fixture: layouts differ
        type=$(sed -n 's/.*"model_type": *"\([^"]*\)".*/\1/p' "$dir/config.json")
        case $types in *" $type "*) ;; *) echo "skip $dir ($type not built)"; continue ;; esac
        run --model "$dir" --feature "$feature" "$o" >/dev/null
        expect_rc 0
        expect_out "-[✓] all values close (atol: "  # the architecture's atol (Longformer: 1e-04)
        [ -f "$o/config.json" ] || fail "config.json not copied for $dir"
        if [ -e "$o/encoder_model.onnx" ]; then feature_kind=graphs; else feature_kind=one; fi
        case $feature_kind in
        graphs)  # an encoder-decoder's generation graphs, in Optimum's layout
            graphs="encoder_model.onnx decoder_model.onnx"
            case $feature in *-with-past) graphs="$graphs decoder_with_past_model.onnx decoder_model_merged.onnx" ;; esac
            expect_out "All good, models saved at: $o"
            for g in $graphs; do [ -s "$o/$g" ] || fail "no $g for $dir"; done
            stray=$(ls -A "$o" | grep -v -e '^encoder_model.onnx$' -e '^decoder_model.onnx$' \
                -e '^decoder_with_past_model.onnx$' -e '^decoder_model_merged.onnx$' -e '\.json$') ;;
        *)
            expect_out "All good, model saved at: $o/model.onnx"
            [ -s "$o/model.onnx" ] || fail "no model.onnx for $dir"
            stray=$(ls -A "$o" | grep -v -e '^model.onnx$' -e '\.json$') ;;
        esac
        [ -z "$stray" ] || fail "stray files: $(ls -A "$o")"
        echo "ok $dir"
    done ;;
follow_transformers)
    # a Mistral checkpoint whose window 4.41 and 5.x compute differently: both validate, the graphs differ
    "$exe" --list-models | grep -q '^mistral:' || { echo "skip: mistral is not built"; exit 0; }
    model="$fixtures/../fixtures_tf4/mistral/causal-lm-with-past"
    run --model "$model" --feature causal-lm-with-past --follow-transformers 4.41 "$tmp/o4"
    expect_rc 0
    expect_out "the export follows 4.41.2 (--follow-transformers 5 follows 5.23.0)"
    expect_out "All good"
    run --model "$model" --feature causal-lm-with-past "$tmp/o5"
    expect_rc 0
    expect_out "warning: mistral computes differently under Transformers 4.41 and 5"
    expect_out "the export follows 5.23.0, not 4.41.2 that saved this checkpoint"
    cmp -s "$tmp/o4/model.onnx" "$tmp/o5/model.onnx" && fail "the same graph for 4.41 and 5"
    run --model "$model" --feature causal-lm-with-past --follow-transformers 4.57 "$tmp/o6"
    expect_rc 2
    expect_out "--follow-transformers" ;;
bounded_validation)
    # validation in bounded memory: ONNX Runtime maps the external data as written, the reference converts as it goes
    "$exe" --list-models | grep -q '^llama:' || { echo "skip: llama is not built"; exit 0; }
    model="$fixtures/llama/causal-lm-with-past"
    run --model "$model" --feature causal-lm-with-past --external-data --validation-memory bounded "$tmp/o"
    expect_rc 0
    expect_out "typeformer: validating in bounded memory (--validation-memory bounded)"
    expect_out "ONNX Runtime maps model.onnx_data without copying it"
    expect_out "All good"
    run --model "$model" --feature causal-lm-with-past --dtype fp16 --validation-memory bounded "$tmp/o16"
    expect_rc 0
    expect_out "All good"
    run --model "$model" --feature causal-lm-with-past "$tmp/o-auto"
    expect_rc 0
    grep -qF "bounded memory" "$tmp/out.txt" && fail "a small model validated in bounded memory by default"
    run --model "$model" --feature causal-lm-with-past --validation-memory sometimes "$tmp/o-bad"
    expect_rc 2
    expect_out "--validation-memory" ;;
log_format)
    run --model "$fixtures/bert/question-answering" --feature question-answering "$tmp/o"
    expect_rc 0
    expect_out "Validating ONNX model $tmp/o/model.onnx..."
    expect_out "-[✓] ONNX model output names match reference model (end_logits, start_logits)"
    expect_out "- Validating ONNX Model output \"start_logits\":"
    expect_out "-[✓] (3, 9) matches (3, 9)" ;;
help)
    run --help
    expect_rc 0
    for opt in --model --feature --opset --atol --list-features --no-validate --external-data --force --quiet --progress; do
        expect_out "$opt"
    done
    expect_out "An existing model.onnx is replaced only by an export that validated" ;;
list_features)
    run --list-features bert
    expect_rc 0
    [ "$(cat "$tmp/out.txt")" = "$(printf 'default\nmasked-lm\ncausal-lm\nsequence-classification\nmultiple-choice\ntoken-classification\nquestion-answering')" ] || fail "wrong list" ;;
list_features_unknown)
    run --list-features gpt7
    expect_rc 2
    expect_out "model_type gpt7 is not supported (supported: bert, distilbert" ;;  # more families follow
no_model)
    run "$tmp/o"
    expect_rc 2
    expect_out "--model is required" ;;
unknown_model_type)
    edited bert/default 's/"model_type": "bert"/"model_type": "gpt7"/'
    refused --model "$tmp/model"
    expect_out "[export.model_type] model_type gpt7 is not supported"
    expect_intact ;;
unsupported_feature)
    refused --model "$fixtures/distilbert/default" --feature causal-lm
    expect_out "feature causal-lm is not supported for distilbert (supported: default, masked-lm, sequence-classification, multiple-choice, token-classification, question-answering)"
    expect_intact ;;
missing_config)
    mkdir "$tmp/empty"
    refused --model "$tmp/empty"
    expect_out "[config.missing] $tmp/empty/config.json: cannot open config.json"
    expect_intact ;;
config_number_overflow)
    # a number no double holds (found by fuzz_config): the same error as any invalid JSON
    edited bert/default 's/"layer_norm_eps": [^,]*/"layer_norm_eps": 1e99999/'
    grep -q 1e99999 "$tmp/model/config.json" || fail "the edit did not apply"
    refused --model "$tmp/model"
    expect_out "[config.parse_error] $tmp/model/config.json: not valid JSON: [json.exception.out_of_range.406]"
    expect_intact ;;
config_not_json)
    edited bert/default 's/{/{{/'
    refused --model "$tmp/model"
    expect_out "[config.parse_error] $tmp/model/config.json: not valid JSON"
    expect_intact ;;
config_wrong_type)
    edited bert/default 's/"num_attention_heads": 4/"num_attention_heads": "4"/'
    refused --model "$tmp/model"
    expect_out "[config.type_error] $tmp/model/config.json: /num_attention_heads: expected an integer, got \"4\""
    expect_intact ;;
config_inconsistent)
    edited bert/default 's/"num_attention_heads": 4/"num_attention_heads": 5/'
    refused --model "$tmp/model"
    expect_out "[config.invalid] $tmp/model/config.json: hidden_size must be divisible by num_attention_heads"
    expect_intact ;;
missing_tensors)
    edited bert/default 's/"num_hidden_layers": 2/"num_hidden_layers": 3/'
    refused --model "$tmp/model"
    expect_out "[checkpoint.mismatch] $tmp/model: the checkpoint does not match the model (16 problems):"
    expect_out "missing tensor bert.encoder.layer.2.attention.self.query.weight, expected shape [32, 32]"
    expect_out "missing tensor bert.encoder.layer.2.output.LayerNorm.bias, expected shape [32]"
    expect_intact ;;
unexpected_tensors)
    edited bert/default 's/"num_hidden_layers": 2/"num_hidden_layers": 1/'
    refused --model "$tmp/model"
    expect_out "(16 problems)"
    expect_out "unexpected tensor bert.encoder.layer.1.attention.self.key.bias [32]"
    expect_intact ;;
misshaped_tensors)
    edited bert/default 's/"intermediate_size": 37/"intermediate_size": 40/'
    refused --model "$tmp/model"
    expect_out "tensor bert.encoder.layer.0.intermediate.dense.weight has shape [37, 32], expected [40, 32]"
    expect_out "tensor bert.encoder.layer.1.output.dense.weight has shape [32, 37], expected [32, 40]"
    expect_intact ;;
missing_head)
    # a bare BertModel checkpoint has no classifier: refused, not randomly initialised
    refused --model "$fixtures/bert/default" --feature sequence-classification
    expect_out "missing tensor classifier.weight, expected shape [2, 32]"
    expect_out "config.json's architectures name BertModel, a model without sequence-classification's head"
    expect_intact
    # a bare BartModel: BartForConditionalGeneration would make final_logits_bias up (zeros); refused, saying so
    if "$exe" --list-models | grep -q "^bart:"; then
        refused --model "$fixtures/bart/default" --task text2text-generation
        expect_out "missing tensor final_logits_bias, expected shape [1, 99]"
        expect_out "config.json's architectures name BartModel, a model without seq2seq-lm's head"
        expect_intact
    fi ;;
truncated_checkpoint)
    cp -r "$fixtures/bert/default" "$tmp/model"
    truncate -s 1000 "$tmp/model/model.safetensors"
    refused --model "$tmp/model"
    expect_out "[safetensors.header] $tmp/model/model.safetensors: header length "
    expect_intact
    truncate -s 5 "$tmp/model/model.safetensors"
    refused --model "$tmp/model"
    expect_out "[safetensors.truncated] $tmp/model/model.safetensors: file is 5 bytes, shorter than the 8-byte header length"
    expect_intact ;;
header_beyond_file)
    damaged header_beyond_file
    refused --model "$tmp/model"
    expect_out "[safetensors.header] $tmp/model/model.safetensors: header length"
    expect_out "exceeds file size"
    expect_intact ;;
header_not_json)
    damaged header_not_json
    refused --model "$tmp/model"
    expect_out "[safetensors.header] $tmp/model/model.safetensors: header is not valid JSON"
    expect_intact ;;
header_not_object)
    damaged header_not_object
    refused --model "$tmp/model"
    expect_out "[safetensors.header] $tmp/model/model.safetensors: header is a JSON array, expected an object"
    expect_intact ;;
offsets_out_of_range)
    damaged offsets_out_of_range
    refused --model "$tmp/model"
    expect_out "[safetensors.offsets] $tmp/model/model.safetensors: tensor \"pooler.dense.weight\": data_offsets ["
    expect_out "exceed the data buffer of 81704 bytes"
    expect_intact ;;
overlapping_offsets)
    damaged overlap
    refused --model "$tmp/model"
    expect_out "[safetensors.overlap] $tmp/model/model.safetensors: tensors \"embeddings.LayerNorm.bias\" [0, 128) and \"embeddings.LayerNorm.weight\" [124, 252) overlap"
    expect_intact ;;
misaligned_offsets)
    # F32 data at odd offsets: the format allows it (it promises no alignment);
    # the reader copies through memcpy, and the export is exact
    damaged misaligned
    run --model "$tmp/model" "$tmp/o"
    expect_rc 0
    expect_out "-[✓] all values close (atol: 1e-05)" ;;
size_mismatch)
    damaged size_mismatch
    refused --model "$tmp/model"
    expect_out "[safetensors.size] $tmp/model/model.safetensors: tensor \"embeddings.LayerNorm.bias\": data_offsets span 128 bytes but shape [31] of F32 needs 124"
    expect_intact ;;
unknown_dtype)
    damaged unknown_dtype
    refused --model "$tmp/model"
    expect_out "[safetensors.dtype] $tmp/model/model.safetensors: tensor \"embeddings.LayerNorm.bias\": unknown dtype \"F33\""
    expect_intact ;;
duplicate_name)
    damaged duplicate_name
    refused --model "$tmp/model"
    expect_out "[safetensors.duplicate] $tmp/model/model.safetensors: tensor \"embeddings.LayerNorm.bias\": name appears more than once in the header"
    expect_intact ;;
nan_weights)
    # NaN in a row validation does not read: a warning naming the tensor, and the export
    for kind in nan inf; do
        rm -rf "$tmp/model"
        damaged $kind
        run --model "$tmp/model" "$tmp/o-$kind"
        expect_rc 0
        expect_out "typeformer: warning: checkpoint tensor bert.embeddings.position_embeddings.weight holds 2 NaN or infinite values"
    done ;;
malicious_pickle)
    # a pytorch_model.bin whose pickle calls posix.system: refused, nothing run
    rm -f /tmp/typeformer-pickle-pwned
    refused --model "$fixtures/../fixtures_layouts/malicious"
    expect_out "[pickle.refused]"
    expect_out "refusing global posix.system"
    expect_out "nothing was executed"
    [ ! -e /tmp/typeformer-pickle-pwned ] || fail "the pickle ran"
    expect_intact ;;
config_not_object)
    cp -r "$fixtures/bert/default" "$tmp/model"
    echo '[1, 2]' >"$tmp/model/config.json"
    refused --model "$tmp/model"
    expect_out "[config.parse_error] $tmp/model/config.json: not a JSON object"
    expect_intact ;;
config_no_model_type)
    edited bert/default '/"model_type"/d'
    refused --model "$tmp/model"
    expect_out "[config.missing_field] $tmp/model/config.json: no model_type"
    expect_intact ;;
config_negative_size)
    edited bert/default 's/"intermediate_size": 37/"intermediate_size": -37/'
    refused --model "$tmp/model"
    expect_out "[config.invalid] $tmp/model/config.json:"
    expect_out "intermediate_size"
    expect_intact ;;
config_unsupported_setting)
    edited bert/default 's/"model_type": "bert"/"position_embedding_type": "relative_key", "model_type": "bert"/'
    refused --model "$tmp/model"
    expect_out "[config.unsupported] $tmp/model/config.json: /position_embedding_type: \"relative_key\" is not supported (only \"absolute\")"
    expect_intact ;;
output_not_a_folder)
    touch "$tmp/file"
    run --model "$fixtures/bert/default" "$tmp/file/o"
    expect_rc 2
    expect_out "[export.output] $tmp/file/o: cannot create the output folder" ;;
bad_opset)
    refused --model "$fixtures/bert/default" --opset 9
    expect_out "opset 9 is not supported (supported: 13 to 23)"
    expect_intact ;;
failed_validation_keeps_previous_model)
    previous
    run --model "$fixtures/bert/masked-lm" --feature masked-lm --atol 1e-12 "$tmp/o"
    expect_rc 1
    expect_out "-[x] values not close enough, max diff:"
    expect_out "typeformer: validation failed; $tmp/o/model.onnx was left as it was and the rejected export is at $tmp/o/model.onnx.invalid"
    [ -s "$tmp/o/model.onnx.invalid" ] || fail "no model.onnx.invalid"
    rm "$tmp/o/model.onnx.invalid"
    expect_intact
    # with external data the rejected export is a folder, loadable as it is
    run --model "$fixtures/bert/masked-lm" --feature masked-lm --atol 1e-12 --external-data "$tmp/o"
    expect_rc 1
    [ -s "$tmp/o/invalid/model.onnx" ] && [ -s "$tmp/o/invalid/model.onnx_data" ] || fail "no invalid/ folder"
    rm -r "$tmp/o/invalid"
    expect_intact ;;
force_replaces_after_failed_validation)
    previous
    run --model "$fixtures/bert/masked-lm" --feature masked-lm --atol 1e-12 --force "$tmp/o"
    expect_rc 1
    expect_out "typeformer: validation failed; --force: written anyway at $tmp/o/model.onnx"
    [ "$(cat "$tmp/o/model.onnx")" != previous ] || fail "model.onnx not replaced"
    [ ! -e "$tmp/o/model.onnx_data" ] || fail "stale model.onnx_data left"
    [ "$(ls -A "$tmp/o" | tr '\n' ' ')" = "config.json model.onnx " ] || fail "files: $(ls -A "$tmp/o")" ;;
no_validate_keeps_existing)
    refused --model "$fixtures/bert/default" --no-validate
    expect_out "[export.exists] $tmp/o/model.onnx exists and --no-validate was given: an existing model is only replaced by a validated export, or with --force"
    expect_intact
    run --model "$fixtures/bert/default" --no-validate --force "$tmp/o"
    expect_rc 0
    expect_out "Model saved (not validated) at: $tmp/o/model.onnx"
    [ "$(ls -A "$tmp/o" | tr '\n' ' ')" = "config.json model.onnx " ] || fail "files: $(ls -A "$tmp/o")"
    # into an empty folder --no-validate needs no --force
    run --model "$fixtures/bert/default" --no-validate "$tmp/new"
    expect_rc 0 ;;
unwritable_output)
    # an existing folder the exporter may not write in (root ignores modes: /sys then)
    if [ "$(id -u)" = 0 ]; then
        run --model "$fixtures/bert/default" /sys
        expect_rc 2
        expect_out "[export.output] /sys: cannot write in the output folder ("
    else
        previous
        chmod a-w "$tmp/o"
        run --model "$fixtures/bert/default" "$tmp/o"
        chmod u+w "$tmp/o"
        expect_rc 2
        expect_out "[export.output] $tmp/o: cannot write in the output folder (Permission denied)"
        expect_intact
    fi ;;
full_disk)
    # a file size limit (ulimit -f, 1 KiB blocks) stands in for a full disk: the
    # write fails with EFBIG (SIGXFSZ ignored) half-way through model.onnx
    previous
    (trap '' XFSZ; ulimit -f 64; exec "$exe" --model "$fixtures/bert/default" "$tmp/o") >"$tmp/out.txt" 2>&1
    echo $? >"$tmp/rc"; cat "$tmp/out.txt"
    expect_rc 2
    expect_out "[export.write] $tmp/o/model.onnx: write failed (File too large)"
    expect_intact
    # the same with external data: the data file is the one that fails
    (trap '' XFSZ; ulimit -f 64; exec "$exe" --model "$fixtures/bert/default" --external-data "$tmp/o") >"$tmp/out.txt" 2>&1
    echo $? >"$tmp/rc"; cat "$tmp/out.txt"
    expect_rc 2
    expect_out "[export.write] $tmp/o/model.onnx_data: write failed (File too large)"
    expect_intact
    # a real full filesystem where one can be mounted (root, in a container that allows it)
    if [ "$(id -u)" = 0 ] && mkdir "$tmp/small" && mount -t tmpfs -o size=48k tmpfs "$tmp/small" 2>/dev/null; then
        previous "$tmp/small/o"
        run --model "$fixtures/bert/default" "$tmp/small/o"
        rc=$(rc)
        out=$(ls -A "$tmp/small/o" | tr '\n' ' ')
        data=$(cat "$tmp/small/o/model.onnx")
        umount "$tmp/small"
        [ "$rc" = 2 ] || fail "tmpfs: exit status $rc"
        expect_out "write failed (No space left on device)"
        [ "$data" = previous ] && [ "$out" = "config.json model.onnx model.onnx_data " ] || fail "tmpfs: folder changed: $out"
    else
        echo "(no tmpfs: mounting needs privileges; ulimit -f only)"
    fi ;;
killed_mid_write)
    # SIGKILL with half the weights written: the folder as it was, then the
    # next export removes what was left and succeeds
    for flag in "" --external-data; do
        rm -rf "$tmp/o" "$tmp/paused"
        previous
        TYPEFORMER_TEST_PAUSE=write:"$tmp/paused" "$exe" --model "$fixtures/bert/default" $flag "$tmp/o" >"$tmp/out.txt" 2>&1 &
        pid=$!
        for _ in $(seq 600); do [ -e "$tmp/paused" ] && break; sleep 0.1; done
        [ -e "$tmp/paused" ] || { kill -9 $pid; fail "the exporter never reached the pause point"; }
        [ -n "$(find "$tmp/o" -path '*/.typeformer-staging.*/model.onnx*' -size +1k)" ] || fail "nothing half-written in staging"
        kill -9 $pid
        wait $pid 2>/dev/null
        [ "$(ls -A "$tmp/o" | grep -c staging)" = 1 ] || fail "no staging folder left by the kill"
        [ "$(ls -A "$tmp/o" | grep -v staging | tr '\n' ' ')" = "config.json model.onnx model.onnx_data " ] || fail "files: $(ls -A "$tmp/o")"
        [ "$(cat "$tmp/o/model.onnx")" = previous ] && [ "$(cat "$tmp/o/model.onnx_data")" = previous-data ] || fail "changed by the kill"
        run --model "$fixtures/bert/default" $flag "$tmp/o"
        expect_rc 0
        expect_out "removed what an interrupted export left (.typeformer-staging."
        [ -z "$(ls -A "$tmp/o" | grep staging)" ] || fail "staging folder not removed"
    done ;;
killed_mid_commit)
    # SIGKILL after model.onnx_data was moved in but before model.onnx: the
    # next run completes the interrupted export before its own
    previous
    TYPEFORMER_TEST_PAUSE=commit:"$tmp/paused" "$exe" --model "$fixtures/bert/default" --external-data "$tmp/o" >"$tmp/out.txt" 2>&1 &
    pid=$!
    for _ in $(seq 600); do [ -e "$tmp/paused" ] && break; sleep 0.1; done
    [ -e "$tmp/paused" ] || { kill -9 $pid; fail "the exporter never reached the pause point"; }
    kill -9 $pid
    wait $pid 2>/dev/null
    [ "$(cat "$tmp/o/model.onnx")" = previous ] || fail "model.onnx moved before the pause"
    [ "$(cat "$tmp/o/model.onnx_data")" != previous-data ] || fail "model.onnx_data not moved before the pause"
    # the next run (here one whose own export fails validation) first completes the interrupted one
    run --model "$fixtures/bert/default" --external-data --atol 1e-12 "$tmp/o"
    expect_rc 1
    expect_out "completed an interrupted export into $tmp/o"
    [ "$(cat "$tmp/o/model.onnx")" != previous ] || fail "the interrupted export was not completed"
    rm -r "$tmp/o/invalid"
    [ "$(ls -A "$tmp/o" | tr '\n' ' ')" = "config.json model.onnx model.onnx_data " ] || fail "files: $(ls -A "$tmp/o")"
    run --model "$fixtures/bert/default" --external-data --force --no-validate "$tmp/o"
    expect_rc 0 ;;
external_data)
    # --external-data: model.onnx + model.onnx_data, validated, and loadable
    # from another working directory through a relative path to the model
    mkdir -p "$tmp/elsewhere"
    (cd "$tmp/elsewhere" && "$exe" --model "$fixtures/bert/question-answering" --feature question-answering --external-data ../o) >"$tmp/out.txt" 2>&1
    echo $? >"$tmp/rc"; cat "$tmp/out.txt"
    expect_rc 0
    expect_out "All good, model saved at: ../o/model.onnx"
    [ "$(ls -A "$tmp/o" | tr '\n' ' ')" = "config.json model.onnx model.onnx_data " ] || fail "files: $(ls -A "$tmp/o")"
    [ "$(stat -c %s "$tmp/o/model.onnx")" -lt 100000 ] || fail "weights inside model.onnx"
    grep -qa model.onnx_data "$tmp/o/model.onnx" || fail "model.onnx does not name its data file"
    # the single-file export of the same model after it: the stale data file goes
    run --model "$fixtures/bert/question-answering" --feature question-answering "$tmp/o"
    expect_rc 0
    [ "$(ls -A "$tmp/o" | tr '\n' ' ')" = "config.json model.onnx " ] || fail "files: $(ls -A "$tmp/o")" ;;
large_external_data)
    # a synthetic checkpoint over 2 GiB (sparse zeros): external data is
    # automatic, and peak memory stays far below the model's size
    mkdir -p "$tmp/large" && cp "$here/../fixtures_damaged/large/config.json" "$tmp/large/" &&
        cp "$here/../fixtures_damaged/large/model.safetensors.head" "$tmp/large/model.safetensors" &&
        truncate -s "$(cat "$here/../fixtures_damaged/large/size")" "$tmp/large/model.safetensors" || fail "large checkpoint"
    size=$(stat -c %s "$tmp/large/model.safetensors")
    [ "$size" -gt 2147483648 ] || fail "checkpoint of $size bytes"
    /usr/bin/time -v "$exe" --model "$tmp/large" --no-validate "$tmp/o" >"$tmp/out.txt" 2>&1
    echo $? >"$tmp/rc"; cat "$tmp/out.txt"
    expect_rc 0
    expect_out "the model is over 2 GiB, the limit of one protobuf file: its weights go to model.onnx_data next to model.onnx"
    [ "$(ls -A "$tmp/o" | tr '\n' ' ')" = "config.json model.onnx model.onnx_data " ] || fail "files: $(ls -A "$tmp/o")"
    data=$(stat -c %s "$tmp/o/model.onnx_data")
    [ "$data" -ge $((size - 100000)) ] || fail "model.onnx_data holds $data bytes, the checkpoint $size"
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/out.txt")
    echo "peak RSS: $rss KiB for a checkpoint of $((size / 1048576)) MiB"
    [ "$rss" -lt 400000 ] || fail "peak RSS $rss KiB" ;;
opsets)
    for opset in 13 14 15 16 17 18 19 20 21 22 23; do
        run --model "$fixtures/distilbert/multiple-choice" --feature multiple-choice --opset $opset "$tmp/o$opset" >/dev/null
        expect_rc 0
        expect_out "at opset $opset"
    done ;;
docs_feature_table)
    # docs/architectures.md lists exactly what --list-models says works: features and Optimum's tasks
    doc=$(dirname "$0")/../../docs/architectures.md
    run --list-models >/dev/null
    expect_rc 0
    while IFS= read -r line; do
        type=${line%%:*} rest=${line#*: }
        feats=${rest%%; tasks: *} tasks=${rest#*; tasks: }
        [ "$feats" != "$rest" ] && [ -n "$tasks" ] || fail "no tasks in: $line"
        grep -qxF "| $type | $feats | $tasks |" "$doc" || fail "docs/architectures.md lacks: | $type | $feats | $tasks |"
    done <"$tmp/out.txt"
    [ "$(grep -c '^| [a-z0-9_-]* | default' "$doc")" = "$(wc -l <"$tmp/out.txt")" ] || fail "docs list other models" ;;
list_models_tasks)
    # each model type: its features, then the same as optimum-cli's tasks, one for one and in the same order
    run --list-models >/dev/null
    expect_rc 0
    grep -qxF "bert: default masked-lm causal-lm sequence-classification multiple-choice token-classification question-answering; tasks: feature-extraction fill-mask text-generation text-classification multiple-choice token-classification question-answering" "$tmp/out.txt" ||
        fail "bert's line"
    task_of() {
        case $1 in
        default) echo feature-extraction ;; default-with-past) echo feature-extraction-with-past ;;
        masked-lm) echo fill-mask ;; causal-lm) echo text-generation ;; causal-lm-with-past) echo text-generation-with-past ;;
        seq2seq-lm) echo text2text-generation ;; seq2seq-lm-with-past) echo text2text-generation-with-past ;;
        sequence-classification) echo text-classification ;; *) echo "$1" ;;
        esac
    }
    while IFS= read -r line; do
        rest=${line#*: }
        expected=$(for f in ${rest%%; tasks: *}; do task_of "$f"; done | tr '\n' ' ')
        [ "$expected" = "$(echo ${rest#*; tasks: }) " ] || fail "tasks of ${line%%:*}: ${rest#*; tasks: }, expected $expected"
        set -- ${rest#*; tasks: }
        for f in ${rest%%; tasks: *}; do echo "$1 $f" && shift; done >>"$tmp/pairs"
    done <"$tmp/out.txt"
    # --task takes every task listed as the feature listed with it: both given, they must agree
    sort -u "$tmp/pairs" | while read -r task f; do
        "$exe" --task "$task" --feature "$f" --list-models >/dev/null || fail "--task $task is not --feature $f"
    done || exit 1 ;;
list_features_spellings)
    # --list-features takes config.json's model_type (gpt_neo, xlm-roberta) and transformers.onnx's (gpt-neo:
    # model_type with "_" as "-"): the same list
    run --list-models >/dev/null
    types=$(cut -d: -f1 "$tmp/out.txt")
    checked=0
    for type in $types; do
        want=$("$exe" --list-features "$type") || fail "--list-features $type"
        for other in "$(echo "$type" | tr _ -)" "$(echo "$type" | tr - _)"; do
            [ "$other" = "$type" ] && continue
            [ "$("$exe" --list-features "$other")" = "$want" ] || fail "--list-features $other is not --list-features $type"
            checked=$((checked + 1))
        done
    done
    # transformers.onnx's names, where the family is built
    for legacy in big-bird bigbird-pegasus blenderbot-small data2vec-text deberta-v2 gpt-neo m2m-100 xlm-roberta; do
        type=$(printf '%s\n' $types | grep -x -e "$legacy" -e "$(echo "$legacy" | tr - _)") || continue
        run --list-features "$legacy" >/dev/null
        expect_rc 0
        [ "$(cat "$tmp/out.txt")" = "$("$exe" --list-features "$type")" ] || fail "--list-features $legacy"
        checked=$((checked + 1))
    done
    echo "$checked other spellings checked"
    run --list-features gpt-7
    expect_rc 2
    expect_out "model_type gpt-7 is not supported" ;;
progress)
    # a progress line on stderr, rewritten in place (\r) and ended by a newline: forced with --progress always,
    # none by default when stderr is not a terminal (here a file); the log on stdout is the same either way
    "$exe" --model "$fixtures/bert/default" --progress always "$tmp/o1" >"$tmp/log1" 2>"$tmp/err1"
    [ $? = 0 ] || fail "exit status with --progress always"
    cat -A "$tmp/err1"
    n=$(grep -c . "$tmp/log1")
    [ "$(head -c 1 "$tmp/err1")" = "$(printf '\r')" ] || fail "the progress line does not start with \\r"
    [ "$(tail -c 1 "$tmp/err1" | od -An -c | tr -d ' ')" = '\n' ] || fail "the progress line does not end with a newline"
    last=$(tr '\r' '\n' <"$tmp/err1" | grep . | tail -1)
    echo "$last" | grep -Eqx 'typeformer: writing weights: 37/37 tensors, [0-9]+\.[0-9]/[0-9]+\.[0-9] MB \(100%\), [0-9]+\.[0-9] MB/s, done in [0-9]+\.[0-9] s *' ||
        fail "final progress line: $last"
    tr '\r' '\n' <"$tmp/err1" | grep . | grep -Evx 'typeformer: writing weights: [0-9]+/37 tensors, [0-9.]+/[0-9.]+ MB \([0-9]+%\), [0-9.]+ MB/s, ([0-9]+ s left|\? s left|done in [0-9.]+ s) *' &&
        fail "other text on stderr"
    "$exe" --model "$fixtures/bert/default" "$tmp/o2" >"$tmp/log2" 2>"$tmp/err2"
    [ $? = 0 ] || fail "exit status without --progress"
    [ ! -s "$tmp/err2" ] || fail "stderr is a file, yet: $(cat -A "$tmp/err2")"
    "$exe" --model "$fixtures/bert/default" --progress never "$tmp/o3" >"$tmp/log3" 2>"$tmp/err3"
    [ ! -s "$tmp/err3" ] || fail "--progress never printed: $(cat -A "$tmp/err3")"
    times() { sed -E 's/[0-9]+\.[0-9]+ s/T s/g; s#/o[0-9]#/o#g' "$1"; }
    [ "$(times "$tmp/log1")" = "$(times "$tmp/log2")" ] || fail "the log changed with --progress always"
    [ "$n" -ge 8 ] || fail "a short log: $n lines"
    run --model "$fixtures/bert/default" --progress sometimes "$tmp/o4"
    expect_rc 2
    expect_out "--progress" ;;
quiet)
    # --quiet: errors only, the exit status unchanged
    mkdir -p "$tmp/o/.typeformer-staging.999999999"  # what a killed export left: removed without a word
    "$exe" --model "$fixtures/bert/default" --quiet --progress always "$tmp/o" >"$tmp/log" 2>"$tmp/err"
    [ $? = 0 ] || fail "exit status $? with --quiet"
    [ ! -s "$tmp/log" ] && [ ! -s "$tmp/err" ] || fail "printed: $(cat "$tmp/log" "$tmp/err")"
    [ -s "$tmp/o/model.onnx" ] && [ ! -e "$tmp/o/.typeformer-staging.999999999" ] || fail "files: $(ls -A "$tmp/o")"
    # a failed validation: one line on stderr, exit 1
    "$exe" --model "$fixtures/bert/masked-lm" --feature masked-lm --atol 1e-12 -q "$tmp/o" >"$tmp/log" 2>"$tmp/err"
    [ $? = 1 ] || fail "exit status with a failed validation"
    [ ! -s "$tmp/log" ] || fail "stdout: $(cat "$tmp/log")"
    [ "$(cat "$tmp/err")" = "typeformer-export: validation failed (atol 1e-12); the rejected export is at $tmp/o/model.onnx.invalid" ] ||
        fail "stderr: $(cat "$tmp/err")"
    # bad input: the error, exit 2
    run --model "$fixtures/bert/default" --quiet --opset 9 "$tmp/o"
    expect_rc 2
    [ "$(wc -l <"$tmp/out.txt")" = 1 ] || fail "more than the error"
    expect_out "opset 9 is not supported" ;;
optimum_task_names)
    # optimum-cli's --task names: the feature they are, the same export
    run --model "$fixtures/bert/masked-lm" --task fill-mask "$tmp/o"
    expect_rc 0
    expect_out "typeformer: exporting bert (masked-lm)"
    run --model "$fixtures/bert/default" --task feature-extraction "$tmp/o2"
    expect_rc 0
    expect_out "typeformer: exporting bert (default)"
    run --model "$fixtures/bert/default" --task text-to-image "$tmp/o3"
    expect_rc 2
    expect_out "unknown --task text-to-image (tasks: feature-extraction"
    run --model "$fixtures/bert/masked-lm" --task fill-mask --feature default "$tmp/o4"
    expect_rc 2
    expect_out "--task fill-mask is the feature masked-lm, but --feature default was given too" ;;
inferred_task)
    # no --task nor --feature: the task config.json's architectures name, with the cache where there is one
    run --model "$fixtures/bert/masked-lm" "$tmp/o"
    expect_rc 0
    expect_out "config.json's architectures name BertForMaskedLM, so fill-mask (the feature masked-lm)"
    expect_out "typeformer: exporting bert (masked-lm)"
    run --model "$fixtures/bert/causal-lm" "$tmp/o2"
    expect_rc 0
    expect_out "BertLMHeadModel, so text-generation (the feature causal-lm)"
    if "$exe" --list-models | grep -q "^gpt2:"; then
        run --model "$fixtures/gpt2/causal-lm-with-past" "$tmp/o3"
        expect_rc 0
        expect_out "GPT2LMHeadModel, so text-generation-with-past (the feature causal-lm-with-past)"
    fi
    edited bert/default 's/"BertModel"/"BertForPreTraining"/'
    run --model "$tmp/model" "$tmp/o4"
    expect_rc 0
    expect_out "BertForPreTraining, so feature-extraction (the feature default)"
    if "$exe" --list-models | grep -q "^distilbert:"; then
        rm -rf "$tmp/model"
        edited distilbert/default 's/"DistilBertModel"/"DistilBertForCausalLM"/'
        run --model "$tmp/model" "$tmp/o5"
        expect_rc 2
        expect_out "config.json's architectures names DistilBertForCausalLM, whose task (text-generation, the feature causal-lm) is not exported for this model type"
    fi ;;
seq2seq_layout)
    # an encoder-decoder's text2text-generation-with-past: Optimum's four files, each validated; a failed
    # validation rejects them all into OUTPUT/invalid/ and leaves a previous export as it was
    dir="$fixtures/bart/seq2seq-lm-with-past"
    "$exe" --list-models | grep -q "^bart:" || { echo "skip (bart not built)"; echo "PASS [$case]"; exit 0; }
    run --model "$dir" --task text2text-generation-with-past "$tmp/o"
    expect_rc 0
    for g in encoder_model decoder_model decoder_with_past_model decoder_model_merged; do
        expect_out "Validating ONNX model $tmp/o/$g.onnx..."
        [ -s "$tmp/o/$g.onnx" ] || fail "no $g.onnx"
    done
    expect_out "All good, models saved at: $tmp/o"
    [ -f "$tmp/o/generation_config.json" ] || fail "generation_config.json not copied"
    before=$(cksum "$tmp/o/decoder_model.onnx")
    run --model "$dir" --task text2text-generation-with-past --atol 0 "$tmp/o"
    expect_rc 1
    [ -s "$tmp/o/invalid/decoder_model_merged.onnx" ] || fail "the rejected graphs are not in OUTPUT/invalid/"
    [ "$(cksum "$tmp/o/decoder_model.onnx")" = "$before" ] || fail "the previous export was changed" ;;
monolith)
    # --monolith: seq2seq-lm as one model.onnx, validated; inferred without the cache; a task with the
    # cache refused by name, nothing written
    dir="$fixtures/bart/seq2seq-lm-with-past"
    "$exe" --list-models | grep -q "^bart:" || { echo "skip (bart not built)"; echo "PASS [$case]"; exit 0; }
    run --model "$dir" --monolith "$tmp/o"
    expect_rc 0
    expect_out "so text2text-generation (the feature seq2seq-lm)"
    expect_out "Validating ONNX model $tmp/o/model.onnx..."
    expect_out "All good, model saved at: $tmp/o/model.onnx"
    [ -s "$tmp/o/model.onnx" ] || fail "no model.onnx"
    [ ! -e "$tmp/o/encoder_model.onnx" ] || fail "encoder_model.onnx written with --monolith"
    run --model "$dir" --task text2text-generation-with-past --monolith "$tmp/p"
    expect_rc 2
    expect_out "[export.monolith] bart's seq2seq-lm-with-past (text2text-generation-with-past) cannot be one graph"
    [ ! -e "$tmp/p/model.onnx" ] && [ ! -e "$tmp/p/encoder_model.onnx" ] || fail "a refused export wrote files" ;;
genai)
    # --genai: causal-lm-with-past inferred, genai_config.json written with the export, naming the graph's own
    # inputs and outputs; a feature or a model type GenAI does not run refused by name, nothing written
    "$exe" --list-models | grep -q "^llama:" || { echo "skip (llama not built)"; echo "PASS [$case]"; exit 0; }
    dir="$fixtures/llama/causal-lm-with-past"
    run --model "$dir" --genai "$tmp/o"
    expect_rc 0
    expect_out "no task given: --genai, so text-generation-with-past (the feature causal-lm-with-past)"
    expect_out "genai_config.json written for ONNX Runtime GenAI (model type llama)"
    expect_out "All good, model saved at: $tmp/o/model.onnx"
    j="$tmp/o/genai_config.json"
    [ -s "$j" ] || fail "no genai_config.json"
    has() { grep -qF -- "$1" "$j" || fail "genai_config.json lacks: $1"; }
    has '"type": "llama"'
    has '"filename": "model.onnx"'
    has '"context_length": 64'
    has '"vocab_size": 99'
    has '"hidden_size": 32'
    has '"num_attention_heads": 4'
    has '"num_key_value_heads": 2'
    has '"head_size": 8'
    has '"num_hidden_layers": 2'
    has '"eos_token_id": 2'
    has '"pad_token_id": 2'
    has '"bos_token_id": 1'
    has '"past_present_share_buffer": false'
    has '"do_sample": false'
    has '"max_length": 64'
    # every name it gives is one of the graph's (the names are stored as they are in model.onnx)
    for n in input_ids attention_mask position_ids logits; do
        has "\"$n\": \"$n\""
        grep -aqF "$n" "$tmp/o/model.onnx" || fail "model.onnx has no $n"
    done
    has '"past_key_names": "past_key_values.%d.key"'
    has '"past_value_names": "past_key_values.%d.value"'
    has '"present_key_names": "present.%d.key"'
    has '"present_value_names": "present.%d.value"'
    for i in 0 1; do
        for n in past_key_values.$i.key past_key_values.$i.value present.$i.key present.$i.value; do
            grep -aqF "$n" "$tmp/o/model.onnx" || fail "model.onnx has no $n"
        done
    done
    ! grep -aqF "past_key_values.2.key" "$tmp/o/model.onnx" || fail "model.onnx has more layers than num_hidden_layers"
    # generation_config.json's search settings and special tokens win; it is copied too
    cp -r "$dir" "$tmp/model"
    echo '{"eos_token_id": [2, 5], "do_sample": true, "top_k": 4, "max_length": 32}' >"$tmp/model/generation_config.json"
    run --model "$tmp/model" --task text-generation-with-past --genai --no-validate "$tmp/g"
    expect_rc 0
    tr -d ' \n' <"$tmp/g/genai_config.json" >"$tmp/g.txt"
    for s in '"eos_token_id":[2,5]' '"pad_token_id":2' '"do_sample":true' '"top_k":4' '"max_length":32'; do
        grep -qF -- "$s" "$tmp/g.txt" || fail "generation_config.json not followed: $s"
    done
    [ -f "$tmp/g/generation_config.json" ] || fail "generation_config.json not copied"
    # a feature GenAI does not run: refused before anything is written
    run --model "$fixtures/llama/causal-lm" --task text-generation --genai "$tmp/p"
    expect_rc 2
    expect_out "[export.genai] --genai: ONNX Runtime GenAI runs a decoder's causal-lm-with-past"
    [ ! -e "$tmp/p/model.onnx" ] && [ ! -e "$tmp/p/genai_config.json" ] || fail "a refused export wrote files"
    # a model type this build exports and GenAI does not run, if the build has one
    genai_types=" llama mistral qwen2 qwen3 phi phi3 gemma gemma2 gemma3_text granite smollm3 ernie4_5 qwen3_5_text gpt_oss gemma4_text "
    other=$("$exe" --list-models | cut -d: -f1 | while read -r t; do
        case $genai_types in *" $t "*) ;; *) echo "$t" ;; esac; done | head -1)
    if [ -z "$other" ]; then echo "every model type built is one GenAI runs"; echo "PASS [$case]"; exit 0; fi
    model=$(grep -l "\"model_type\": \"$other\"" "$fixtures"/*/*/config.json | head -1)
    run --model "$(dirname "$model")" --genai "$tmp/q"
    expect_rc 2
    expect_out "[export.genai] --genai: ONNX Runtime GenAI (0.18) does not run model type $other"
    [ ! -e "$tmp/q/model.onnx" ] || fail "a refused export wrote files" ;;
interpolate_pos_encoding)
    # --interpolate-pos-encoding: a graph of any image size, validated at the config's and at another; the
    # graph without it states the config's size; a model type that does not take it refused by name
    "$exe" --list-models | grep -q "^vit:" || { echo "skip (vit not built)"; echo "PASS [$case]"; exit 0; }
    run --model "$fixtures/vit-interpolate/default" --interpolate-pos-encoding "$tmp/o"
    expect_rc 0
    expect_out "- at 30 x 30:"
    expect_out "- at 46 x 38 (interpolate_pos_encoding):"
    expect_out "All good, model saved at: $tmp/o/model.onnx"
    grep -qa height "$tmp/o/model.onnx" || fail "no height axis with --interpolate-pos-encoding"
    run --model "$fixtures/vit-interpolate/default" "$tmp/p"
    expect_rc 0
    grep -qa height "$tmp/p/model.onnx" && fail "a height axis without --interpolate-pos-encoding"
    other=swin
    "$exe" --list-models | grep -q "^$other:" || other=bert
    "$exe" --list-models | grep -q "^$other:" || { echo "PASS [$case]"; exit 0; }
    refused --model "$fixtures/$other/default" --interpolate-pos-encoding
    expect_out "[export.interpolate_pos_encoding]"
    expect_out "model type $other: interpolate_pos_encoding is not supported for it"
    expect_intact ;;
quantize)
    # --quantize int8: model_quantized.onnx next to model.onnx, both validated; with --quantized-only alone
    run --model "$fixtures/bert/default" --quantize int8 "$tmp/o"
    expect_rc 0
    expect_out "typeformer: 2 graphs: model.onnx model_quantized.onnx"
    expect_out "Validating ONNX model $tmp/o/model_quantized.onnx..."
    expect_out "All good, models saved at: $tmp/o"
    [ -s "$tmp/o/model.onnx" ] && [ -s "$tmp/o/model_quantized.onnx" ] || fail "files: $(ls -A "$tmp/o")"
    grep -q DynamicQuantizeMatMul "$tmp/o/model_quantized.onnx" || fail "no DynamicQuantizeMatMul in model_quantized.onnx"
    grep -q DynamicQuantizeMatMul "$tmp/o/model.onnx" && fail "model.onnx is quantized"
    [ "$(stat -c %s "$tmp/o/model_quantized.onnx")" -lt "$(stat -c %s "$tmp/o/model.onnx")" ] ||
        fail "model_quantized.onnx is not smaller than model.onnx"
    run --model "$fixtures/bert/default" --quantize int8 --quantized-only "$tmp/q"
    expect_rc 0
    expect_out "All good, model saved at: $tmp/q/model_quantized.onnx"
    [ -s "$tmp/q/model_quantized.onnx" ] && [ ! -e "$tmp/q/model.onnx" ] || fail "files: $(ls -A "$tmp/q")"
    # a decoder with its cache: the past and the empty past, quantized
    "$exe" --list-models | grep -q '^gpt2:' && {
        run --model "$fixtures/gpt2/causal-lm-with-past" --feature causal-lm-with-past --quantize int8 --quantized-only "$tmp/d"
        expect_rc 0
        expect_out "with an empty past (the first step)"
        [ -s "$tmp/d/model_quantized.onnx" ] || fail "no model_quantized.onnx for gpt2"
    }
    # an encoder-decoder: every graph, the merged decoder included, quantized under Optimum's names
    "$exe" --list-models | grep -q '^t5:' && {
        run --model "$fixtures/t5/seq2seq-lm-with-past" --feature seq2seq-lm-with-past --quantize int8 --quantized-only "$tmp/s"
        expect_rc 0
        for g in encoder_model decoder_model decoder_with_past_model decoder_model_merged; do
            [ -s "$tmp/s/${g}_quantized.onnx" ] && [ ! -e "$tmp/s/$g.onnx" ] || fail "files: $(ls -A "$tmp/s")"
        done
    }
    true ;;
quantize_refused)
    # the combinations --quantize does not make, refused by name before anything is written
    refused --model "$fixtures/bert/default" --quantize int8 --dtype fp16
    expect_out "[export.quantize] --quantize int8 with --dtype fp16"
    expect_intact
    refused --model "$fixtures/bert/default" --quantized-only
    expect_out "[export.quantize] --quantized-only writes the quantized graphs alone: it needs --quantize int8"
    expect_intact
    refused --model "$fixtures/bert/default" --quantize int4
    expect_out "--quantize: int4 not in {none,int8}"
    expect_intact
    "$exe" --list-models | grep -q '^llama:' && {
        refused --model "$fixtures/llama/causal-lm-with-past" --quantize int8 --genai
        expect_out "[export.quantize] --quantize int8 with --genai"
        expect_intact
    }
    true ;;
docs_error_table)
    # every test docs/errors.md cites is a case of this script
    doc=$(dirname "$0")/../../docs/errors.md
    cases=$(grep -o '`cli\.[a-z_]*`' "$doc" | tr -d '`' | sed 's/^cli\.//' | sort -u)
    [ -n "$cases" ] || fail "no cases cited"
    for c in $cases; do grep -q "^$c)" "$0" || fail "docs/errors.md cites cli.$c, which does not exist"; done ;;
*) fail "unknown case" ;;
esac
echo "PASS [$case]"
