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

case $case in
every_feature)
    for dir in "$fixtures"/*/*/; do
        feature=$(basename "$dir")
        run --model "$dir" --feature "$feature" "$tmp/o-$feature" >/dev/null
        expect_rc 0
        expect_out "All good, model saved at: $tmp/o-$feature/model.onnx"
        expect_out "-[✓] all values close (atol: 1e-05)"
        [ -s "$tmp/o-$feature/model.onnx" ] || fail "no model.onnx for $dir"
        [ -f "$tmp/o-$feature/config.json" ] || fail "config.json not copied for $dir"
        [ -z "$(ls -A "$tmp/o-$feature" | grep -v -e '^model.onnx$' -e '\.json$')" ] || fail "stray files: $(ls -A "$tmp/o-$feature")"
        echo "ok $dir"
    done ;;
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
    for opt in --model --feature --opset --atol --list-features --no-validate; do expect_out "$opt"; done ;;
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
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[export.model_type] model_type gpt7 is not supported" ;;
unsupported_feature)
    run --model "$fixtures/distilbert/default" --feature causal-lm "$tmp/o"
    expect_rc 2
    expect_out "feature causal-lm is not supported for distilbert (supported: default, masked-lm, sequence-classification, multiple-choice, token-classification, question-answering)" ;;
missing_config)
    mkdir "$tmp/empty"
    run --model "$tmp/empty" "$tmp/o"
    expect_rc 2
    expect_out "[config.missing] $tmp/empty/config.json: cannot open config.json" ;;
config_not_json)
    edited bert/default 's/{/{{/'
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[config.parse_error] $tmp/model/config.json: not valid JSON" ;;
config_wrong_type)
    edited bert/default 's/"num_attention_heads": 4/"num_attention_heads": "4"/'
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[config.type_error] $tmp/model/config.json: /num_attention_heads: expected an integer, got \"4\"" ;;
config_inconsistent)
    edited bert/default 's/"num_attention_heads": 4/"num_attention_heads": 5/'
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[config.invalid] $tmp/model/config.json: hidden_size must be divisible by num_attention_heads" ;;
missing_tensors)
    edited bert/default 's/"num_hidden_layers": 2/"num_hidden_layers": 3/'
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[checkpoint.mismatch] $tmp/model: the checkpoint does not match the model (16 problems):"
    expect_out "missing tensor bert.encoder.layer.2.attention.self.query.weight, expected shape [32, 32]"
    expect_out "missing tensor bert.encoder.layer.2.output.LayerNorm.bias, expected shape [32]"
    [ ! -e "$tmp/o/model.onnx" ] || fail "model.onnx written" ;;
unexpected_tensors)
    edited bert/default 's/"num_hidden_layers": 2/"num_hidden_layers": 1/'
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "(16 problems)"
    expect_out "unexpected tensor bert.encoder.layer.1.attention.self.key.bias [32]" ;;
misshaped_tensors)
    edited bert/default 's/"intermediate_size": 37/"intermediate_size": 40/'
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "tensor bert.encoder.layer.0.intermediate.dense.weight has shape [37, 32], expected [40, 32]"
    expect_out "tensor bert.encoder.layer.1.output.dense.weight has shape [32, 37], expected [32, 40]" ;;
missing_head)
    # a bare BertModel checkpoint has no classifier: refused, not randomly initialised
    run --model "$fixtures/bert/default" --feature sequence-classification "$tmp/o"
    expect_rc 2
    expect_out "missing tensor classifier.weight, expected shape [2, 32]" ;;
truncated_checkpoint)
    cp -r "$fixtures/bert/default" "$tmp/model"
    truncate -s 1000 "$tmp/model/model.safetensors"
    run --model "$tmp/model" "$tmp/o"
    expect_rc 2
    expect_out "[safetensors." ;;
output_not_a_folder)
    touch "$tmp/file"
    run --model "$fixtures/bert/default" "$tmp/file/o"
    expect_rc 2
    expect_out "[export.output] $tmp/file/o: cannot create the output folder" ;;
bad_opset)
    run --model "$fixtures/bert/default" --opset 9 "$tmp/o"
    expect_rc 2
    expect_out "opset 9 is not supported (supported: 13 to 17)" ;;
failed_validation_keeps_previous_model)
    mkdir -p "$tmp/o"
    echo previous >"$tmp/o/model.onnx"
    run --model "$fixtures/bert/masked-lm" --feature masked-lm --atol 1e-12 "$tmp/o"
    expect_rc 1
    expect_out "-[x] values not close enough, max diff:"
    [ "$(cat "$tmp/o/model.onnx")" = previous ] || fail "model.onnx was replaced"
    [ -s "$tmp/o/model.onnx.invalid" ] || fail "no model.onnx.invalid"
    [ -z "$(ls -A "$tmp/o" | grep staged)" ] || fail "staged file left" ;;
opsets)
    for opset in 13 14 15 16 17; do
        run --model "$fixtures/distilbert/multiple-choice" --feature multiple-choice --opset $opset "$tmp/o$opset" >/dev/null
        expect_rc 0
        expect_out "at opset $opset"
    done ;;
docs_feature_table)
    # docs/architectures.md lists exactly what --list-models says works
    doc=$(dirname "$0")/../../docs/architectures.md
    run --list-models >/dev/null
    expect_rc 0
    while IFS= read -r line; do
        type=${line%%:*} feats=${line#*: }
        grep -qxF "| $type | $feats |" "$doc" || fail "docs/architectures.md lacks: | $type | $feats |"
    done <"$tmp/out.txt"
    [ "$(grep -c '^| [a-z0-9-]* | default' "$doc")" = "$(wc -l <"$tmp/out.txt")" ] || fail "docs list other models" ;;
*) fail "unknown case" ;;
esac
echo "PASS [$case]"
