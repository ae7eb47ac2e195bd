#!/usr/bin/env bash
# --quantize int8 next to onnxruntime's quantize_dynamic, side by side in one run,
# on bert-base (random weights, made by typeformer-make-checkpoint) and
# all-MiniLM-L6-v2 (the real checkpoint scripts/run.sh fetches): model size,
# export time, ONNX Runtime latency at batch 1 and 8 x sequence 128, and the
# loss against float32 (bench/quantize.py). Prints a Markdown table and writes
# it to $BUILD_DIR/bench/quantize.md (the raw figures: quantize-*.json).
#
# Environment: BUILD_DIR (build), RUNS (3: exports timed, median), BENCH_THREADS
# (2: ONNX Runtime's intra-op threads), QUANT_PYTHON (a Python with onnxruntime,
# onnx, numpy and tokenizers; default .venv-clients/bin/python), MINILM (the
# all-MiniLM-L6-v2 folder; default $TYPEFORMER_DEPS/models/all-MiniLM-L6-v2 or
# .deps/models/all-MiniLM-L6-v2; its rows are skipped if absent).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo/bench/lib.sh"
cmake --build "$build" -j2 --target typeformer-make-checkpoint >/dev/null
runs=${RUNS:-3}
threads=${BENCH_THREADS:-2}
qpython=${QUANT_PYTHON:-$repo/.venv-clients/bin/python}
minilm=${MINILM:-${TYPEFORMER_DEPS:-$repo/.deps}/models/all-MiniLM-L6-v2}
"$qpython" -c "import onnxruntime, onnx, numpy, tokenizers" 2>/dev/null ||
  { echo "bench/quantize.sh: $qpython lacks onnxruntime, onnx, numpy or tokenizers (QUANT_PYTHON)" >&2; exit 2; }

bert=$out/bert-base
[[ -f $bert/model.safetensors ]] || "$build/bench/typeformer-make-checkpoint" "$bert" >/dev/null
models=("bert-base:$bert")
if [[ -f $minilm/model.safetensors ]]; then models+=("all-MiniLM-L6-v2:$minilm"); else
  echo "bench/quantize.sh: no $minilm (scripts/run.sh fetches it): bert-base only" >&2; fi

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e6:.1f}')" "$1"; }
ms() { python3 -c "import sys; print(f'{float(sys.argv[1]):.1f}')" "$1"; }

for entry in "${models[@]}"; do
  name=${entry%%:*} dir=${entry#*:}
  o=$out/quantize-$name
  # export times, --no-validate, interleaved: float32 alone, then the quantized graph alone
  : >"$out/q-$name-f32.txt"; : >"$out/q-$name-int8.txt"
  for ((r = 0; r < runs; r++)); do
    measure --json "$out/q.json" -- "$exporter" --model "$dir" --no-validate --force --progress never "$o-f32" >/dev/null
    field "$out/q.json" wall_s >>"$out/q-$name-f32.txt"
    measure --json "$out/q.json" -- "$exporter" --model "$dir" --no-validate --force --progress never \
      --quantize int8 --quantized-only "$o-int8" >/dev/null
    field "$out/q.json" wall_s >>"$out/q-$name-int8.txt"
  done
  t_f32=$(median <"$out/q-$name-f32.txt") t_int8=$(median <"$out/q-$name-int8.txt")
  # one validated export of both: the files quantize.py reads, and the validation's largest difference
  "$exporter" --model "$dir" --quantize int8 --progress never "$o" >"$out/q-$name.log" 2>&1 ||
    { cat "$out/q-$name.log"; exit 1; }
  qdiff=$(sed -n '/model_quantized.onnx\.\.\./,$p' "$out/q-$name.log" | grep -o 'max diff: [0-9.e+-]* of values up to [0-9.e+-]*' | head -1)
  sentences=(); [[ $name == all-MiniLM-L6-v2 ]] && sentences=(--sentences)
  "$qpython" "$repo/bench/quantize.py" --dir "$o" --name "$name" --threads "$threads" "${sentences[@]}" \
    2>/dev/null >"$out/quantize-$name.json"
  j=$out/quantize-$name.json
  get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d)" "$j" "$@"; }
  loss() {  # the loss figures of one model: sentence embeddings (MiniLM) or last_hidden_state on random ids
    if [[ ${#sentences[@]} -gt 0 ]]; then
      python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['sentence_embeddings'][sys.argv[2]]
print(f\"sentence cosine mean {d['cosine_mean']:.4f} (min {d['cosine_min']:.4f}), zero-shot top-1 agreement {100*d['top1_agreement']:.1f}% of {d['sentences']}\")" "$j" "$1"
    else
      python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['hidden_cosine_random_ids'][sys.argv[2]]
print(f\"token cosine mean {d['cosine_mean']:.4f} (min {d['cosine_min']:.4f}), max diff {d['max_abs_diff']:.3g} of {d['max_abs']:.3g}\")" "$j" "$1"
    fi
  }
  f32_s=$(get size_bytes float32) ours_s=$(get size_bytes "typeformer --quantize int8")
  qd_s=$(get size_bytes quantize_dynamic) qdpc_s=$(get size_bytes "quantize_dynamic per_channel")
  qd_t=$(get quantize_dynamic_seconds quantize_dynamic) qdpc_t=$(get quantize_dynamic_seconds "quantize_dynamic per_channel")
  lat() { ms "$(get latency_ms "$1" "$2")"; }
  ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$(get latency_ms "$1" "$2")" "$(get latency_ms "$1" "$3")"; }
  add "| $name | float32 (\`typeformer-export\`) | $(mb "$f32_s") | $(ms "$t_f32") | $(lat b1 float32) | $(lat b8 float32) | reference |"
  add "| $name | \`--quantize int8 --quantized-only\` | $(mb "$ours_s") | $(ms "$t_int8") | $(lat b1 "typeformer --quantize int8") ($(ratio b1 "typeformer --quantize int8" quantize_dynamic)x qd, $(ratio b1 "typeformer --quantize int8" "quantize_dynamic per_channel")x qd-pc) | $(lat b8 "typeformer --quantize int8") ($(ratio b8 "typeformer --quantize int8" quantize_dynamic)x qd, $(ratio b8 "typeformer --quantize int8" "quantize_dynamic per_channel")x qd-pc) | $(loss "typeformer --quantize int8"); validation: $qdiff |"
  add "| $name | float32 export + \`quantize_dynamic\` (qd) | $(mb "$qd_s") | $(ms "$t_f32") + $(ms "$qd_t") | $(lat b1 quantize_dynamic) | $(lat b8 quantize_dynamic) | $(loss quantize_dynamic) |"
  add "| $name | float32 export + \`quantize_dynamic(per_channel=True)\` (qd-pc) | $(mb "$qdpc_s") | $(ms "$t_f32") + $(ms "$qdpc_t") | $(lat b1 "quantize_dynamic per_channel") | $(lat b8 "quantize_dynamic per_channel") | $(loss "quantize_dynamic per_channel") |"
done

{
  echo "# --quantize int8 and quantize_dynamic, $(date -u +%Y-%m-%d)"
  echo
  echo "ONNX Runtime $("$qpython" -c 'import onnxruntime; print(onnxruntime.__version__)') (Python), CPU, $threads intra-op threads; latency: median ms per forward, batch x sequence 128; export: median of $runs, --no-validate."
  echo
  echo "| Model | Graph | Size (MB) | Export (s) | b1 x s128 (ms) | b8 x s128 (ms) | Loss against float32 |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/quantize.md"
