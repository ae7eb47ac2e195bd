#!/usr/bin/env bash
# bench/decoders.sh: decoder benchmarks, side by side in one run:
#  1. export time and peak memory of `typeformer-export --feature causal-lm-with-past
#     --no-validate` next to `cp` (+ sync) of the checkpoint, and
#  2. greedy decoding at batch 1 through ONNX Runtime on the exported with-past
#     graph (bench_generate, C++) next to Transformers/PyTorch on the same
#     weights (bench/generate_torch.py), same thread count,
# for a GPT-2-small checkpoint and, when the exporter lists llama with
# causal-lm-with-past, a 1.1B Llama-shaped one (TinyLlama's shape). Random
# weights, made by bench/make_decoder_checkpoints.py under build/bench/ when absent.
#
#   bench/decoders.sh            (from anywhere; uses <repo>/build)
#
# Environment:
#   BUILD_DIR       build folder (default <repo>/build; configured with Ninja/Release if absent)
#   JOBS            parallel build jobs (default 2)
#   MODELS          which checkpoints (default "gpt2-small llama-1b")
#   RUNS            repetitions of each export / cp command (default 3; the median is reported)
#   BENCH_THREADS   threads for ONNX Runtime (intra-op; inter-op 1) and PyTorch (default 2)
#   PROMPT          prompt length (default 32)
#   NEW             new tokens per generation run (default 64)
#   GEN_REPS        timed generation runs per process, after a warm-up (default 3)
#   LLAMA_NEW       NEW for llama-1b (default 64; ~9x GPT-2-small's work per token)
#   LLAMA_GEN_REPS  GEN_REPS for llama-1b (default 1)
#   SPIN            0 (default): idle worker threads sleep (ONNX Runtime
#                   session.intra_op.allow_spinning=0, PyTorch OMP_WAIT_POLICY=PASSIVE);
#                   1: both libraries' defaults (spin-wait). On a machine whose
#                   cores are busy with other work, spinning costs both 2-4x.
#   EXPORTER        the typeformer-export to measure (default: the one built in BUILD_DIR)
#   PYTHON          Python with torch + transformers (default <repo>/.venv-fixtures/bin/python)
#
# Needs: cmake, ninja, GNU time (/usr/bin/time), python3. Writes build/bench/decoders.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
jobs=${JOBS:-2}
models=${MODELS:-gpt2-small llama-1b}
runs=${RUNS:-3}
threads=${BENCH_THREADS:-2}
prompt=${PROMPT:-32}
new=${NEW:-64}
gen_reps=${GEN_REPS:-3}
llama_new=${LLAMA_NEW:-64}
llama_gen_reps=${LLAMA_GEN_REPS:-1}
spin=${SPIN:-0}
python=${PYTHON:-$repo/.venv-fixtures/bin/python}
out=$build/bench
results=$out/decoders.md

[[ -x /usr/bin/time ]] || { echo "bench/decoders.sh: GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench/decoders.sh: python3 is needed" >&2; exit 2; }
"$python" -c 'import torch, transformers, safetensors' 2>/dev/null ||
  { echo "bench/decoders.sh: $python lacks torch/transformers/safetensors (set PYTHON)" >&2; exit 2; }

# -- build ---------------------------------------------------------------------
if [[ -f $build/CMakeCache.txt ]]; then
  cmake -S "$repo" -B "$build" >/dev/null
else
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j "$jobs" --target typeformer-export bench_generate
exporter=${EXPORTER:-$build/typeformer-export}
mkdir -p "$out"

# which models the exporter can do (a build with TYPEFORMER_FAMILIES may lack one)
supported() {  # supported MODEL_TYPE: the exporter lists it with causal-lm-with-past
  "$exporter" --list-models | grep -E "^$1:" | grep -qw -- causal-lm-with-past
}
declare -A model_type=([gpt2-small]=gpt2 [llama-1b]=llama)
todo=() skipped=()
for m in $models; do
  [[ -n ${model_type[$m]:-} ]] || { echo "bench/decoders.sh: unknown model $m (known: ${!model_type[*]})" >&2; exit 2; }
  if supported "${model_type[$m]}"; then todo+=("$m"); else skipped+=("$m"); fi
done
((${#skipped[@]} == 0)) || echo "bench/decoders.sh: skipped ${skipped[*]}: $exporter --list-models has no such family with causal-lm-with-past" >&2
((${#todo[@]} > 0)) || { echo "bench/decoders.sh: nothing to do" >&2; exit 1; }
BENCH_THREADS=$threads "$python" "$repo/bench/make_decoder_checkpoints.py" "$out" "${todo[@]}"

# -- helpers -------------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out/decoders-cp"' EXIT

# timed NAME CMD...: runs CMD under GNU time -v (stdout to $tmp/NAME.out, stderr to
# $tmp/NAME.log); appends "seconds kbytes cpu-seconds" to $tmp/NAME (cpu: user + system).
timed() {
  local name=$1; shift
  if ! /usr/bin/time -v -o "$tmp/time.txt" "$@" >"$tmp/$name.out" 2>"$tmp/$name.log"; then
    echo "bench/decoders.sh: failed: $*" >&2; cat "$tmp/$name.log" >&2; cat "$tmp/time.txt" >&2; exit 1
  fi
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + p[i] }
    /Maximum resident set size/ { kb = $2 }
    /User time \(seconds\)/ || /System time \(seconds\)/ { cpu += $2 }
    END { printf "%.3f %d %.2f\n", s, kb, cpu }' "$tmp/time.txt" >>"$tmp/$name"
}
median() {  # median NAME COLUMN (1: seconds, 2: kbytes, 3: cpu seconds)
  awk -v c="$2" '{ print $c }' "$tmp/$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
mb() { calc "%.0f MB" "$1 / 1e6"; }

export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
torch_env=(BENCH_SPIN="$spin")
((spin)) || torch_env+=(OMP_WAIT_POLICY=PASSIVE)

# -- 1. export vs cp, interleaved so that the noise falls on all of them -------
for m in "${todo[@]}"; do
  ck=$out/$m
  echo "== $m: export (causal-lm-with-past, --no-validate) vs cp: $runs runs each, interleaved (page cache left as it is)"
  for ((r = 1; r <= runs; ++r)); do
    rm -rf "$out/decoders-onnx-$m" "$out/decoders-cp"; mkdir -p "$out/decoders-cp"
    timed "export_$m" "$exporter" --model "$ck" --feature causal-lm-with-past --no-validate "$out/decoders-onnx-$m"
    cat "$tmp/export_$m.out" "$tmp/export_$m.log" | sed -n 's/.*graph built and checked in \([0-9.e+-]*\) s.*/\1/p' >>"$tmp/graph_$m"
    cat "$tmp/export_$m.out" "$tmp/export_$m.log" | sed -n 's/.*weights written in \([0-9.e+-]*\) s.*/\1/p' >>"$tmp/weights_$m"
    timed "cp_$m" cp "$ck/model.safetensors" "$out/decoders-cp/model.safetensors"
    rm -f "$out/decoders-cp/model.safetensors"
    timed "cps_$m" sh -c 'cp "$1" "$2" && sync "$2"' sh "$ck/model.safetensors" "$out/decoders-cp/model.safetensors"
    rm -rf "$out/decoders-cp"
    echo "   run $r: export $(tail -1 "$tmp/export_$m")  cp $(tail -1 "$tmp/cp_$m")  cp+sync $(tail -1 "$tmp/cps_$m")  (wall-s peak-KB cpu-s)"
  done
  du -sb "$out/decoders-onnx-$m" | cut -f1 >"$tmp/onnx_bytes_$m"
done

# -- 2. generation: ONNX Runtime (C++) then PyTorch, one process each ------------
for m in "${todo[@]}"; do
  n=$new reps=$gen_reps gen=(--generate)
  if [[ $m == llama-1b ]]; then n=$llama_new reps=$llama_gen_reps gen=(); fi
  echo "== $m: greedy decoding, batch 1, prompt $prompt, $n new tokens, $reps timed runs after a warm-up, $threads threads"
  timed "ort_$m" "$build/bench/bench_generate" "$out/decoders-onnx-$m/model.onnx" \
    --prompt "$prompt" --new "$n" --reps "$reps" --threads "$threads" --spin "$spin"
  echo "   onnxruntime:  $(cut -c1-220 "$tmp/ort_$m.out")"
  timed "torch_$m" env "${torch_env[@]}" "$python" "$repo/bench/generate_torch.py" "$out/$m" \
    --prompt "$prompt" --new "$n" --reps "$reps" --threads "$threads" "${gen[@]}"
  echo "   transformers: $(cut -c1-220 "$tmp/torch_$m.out")"
done

# -- the table -------------------------------------------------------------------
{
  echo "# typeformer decoder benchmarks (random weights), $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Export and cp: medians of $runs interleaved runs, page cache warm."
  echo
  echo "## Export (\`--feature causal-lm-with-past --no-validate\`) vs cp"
  echo
  echo "| Checkpoint | model.safetensors | ONNX written | cp | cp + sync | export | export / cp | export / cp+sync | export CPU (user + sys) / wall | export peak RSS / checkpoint | graph built (exporter's log) | weights written (exporter's log) / cp+sync |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for m in "${todo[@]}"; do
    bytes=$(stat -c %s "$out/$m/model.safetensors")
    e_s=$(median "export_$m" 1) e_kb=$(median "export_$m" 2) e_cpu=$(median "export_$m" 3) c_s=$(median "cp_$m" 1) c_cpu=$(median "cp_$m" 3) cs_s=$(median "cps_$m" 1)
    g_s=$(median "graph_$m" 1) w_s=$(median "weights_$m" 1)
    echo "| $m | $(mb "$bytes") | $(mb "$(cat "$tmp/onnx_bytes_$m")") | $c_s s (CPU $c_cpu s) | $cs_s s | $e_s s, peak RSS $(calc "%.0f MB" "$e_kb * 1024 / 1e6") | $(calc "%.2fx" "$e_s / $c_s") | $(calc "%.2fx" "$e_s / $cs_s") | $e_cpu s = $(calc "%.2f" "$e_cpu / $e_s") | $(calc "%.3f" "$e_kb * 1024 / $bytes") | $(calc "%.2f" "$g_s") s | $(calc "%.2f" "$w_s") s = $(calc "%.2fx" "$w_s / $cs_s") |"
  done
  echo
  echo "## Greedy decoding, batch 1, $threads threads: ONNX Runtime on the exported graph vs Transformers"
  echo
  python3 - "$tmp" "${todo[@]}" <<'EOF'
import json, sys
tmp, models = sys.argv[1], sys.argv[2:]
def rss(name):
    return int(open(f"{tmp}/{name}").read().split()[1]) * 1024 / 1e6
print("| Checkpoint | prompt + new | prefill ORT / PyTorch | prefill speed-up | decode ORT / PyTorch | decode speed-up | run total ORT / PyTorch | PyTorch generate() | load ORT / PyTorch | peak RSS ORT / PyTorch | same tokens |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for m in models:
    o = json.load(open(f"{tmp}/ort_{m}.out"))
    t = json.load(open(f"{tmp}/torch_{m}.out"))
    same = 0  # leading tokens that agree
    for a, b in zip(o["tokens"], t["tokens"]):
        if a != b:
            break
        same += 1
    gen = f'{t["generate_ms"]:.0f} ms' if t.get("generate_ms") else "not run"
    print(f'| {m} | {o["prompt"]} + {o["new"]} ({o["reps"]} runs) '
          f'| {o["prefill_ms"]:.0f} ms / {t["prefill_ms"]:.0f} ms | {t["prefill_ms"] / o["prefill_ms"]:.2f}x '
          f'| {o["decode_tok_s"]:.2f} / {t["decode_tok_s"]:.2f} tokens/s | {o["decode_tok_s"] / t["decode_tok_s"]:.2f}x '
          f'| {o["total_ms"]:.0f} ms / {t["total_ms"]:.0f} ms | {gen} '
          f'| {o["load_s"]:.1f} s / {t["load_s"]:.1f} s | {rss("ort_" + m):.0f} MB / {rss("torch_" + m):.0f} MB '
          f'| {same}/{len(o["tokens"])} |')
EOF
  echo
  echo "Speed-up: PyTorch time / ONNX Runtime time (prefill), ONNX Runtime tokens/s / PyTorch tokens/s (decode). Decode: the new-1 steps after the prefill, one token each. ONNX Runtime intra-op $threads threads (inter-op 1); PyTorch $("$python" -c 'import torch; print(torch.__version__)') set_num_threads($threads) (inter-op 1), eager attention; OMP/OpenBLAS/MKL_NUM_THREADS=$threads for both. $( ((spin)) && echo "Spinning: both libraries' defaults (SPIN=1)." || echo "No spin-waiting (SPIN=0): ONNX Runtime session.intra_op.allow_spinning=0, PyTorch OMP_WAIT_POLICY=PASSIVE.")"
  ((${#skipped[@]} == 0)) || { echo; echo "Skipped (\`typeformer-export --list-models\` has no such family with causal-lm-with-past): ${skipped[*]}."; }
  [[ -z ${EXPORTER:-} ]] || { echo; echo "Exporter: \`$exporter\` (EXPORTER), not the one built in $build."; }
  echo
  echo "Command: \`$(printf '%q ' env MODELS="$models" RUNS="$runs" BENCH_THREADS="$threads" PROMPT="$prompt" NEW="$new" SPIN="$spin" GEN_REPS="$gen_reps" LLAMA_NEW="$llama_new" LLAMA_GEN_REPS="$llama_gen_reps" bench/decoders.sh | sed 's/ $//')\`."
} >"$results"
echo
cat "$results"
echo
echo "written: $results"
