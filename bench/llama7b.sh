#!/usr/bin/env bash
# A 7B model on this machine: export a Llama-shaped 7B checkpoint (bf16
# shards, random weights) as float16 and as float32 with external data,
# validate both, and compare with cp of the shards and with Optimum's export
# of the same checkpoint. Prints a Markdown table and writes it to
# build/bench/llama7b.md; see bench/README.md ("A 7B model").
#
#   bench/llama7b.sh
#
# Environment:
#   BUILD_DIR       the build folder (default build); typeformer-export is built there
#   PYTHON          makes the checkpoint (default .venv-fixtures5/bin/python: torch + Transformers)
#   OPTIMUM_PYTHON  a Python with optimum-onnx (default .venv-clients/bin/python; skipped if absent)
#   STOP_ABOVE      GiB of anonymous memory at which Optimum's export is stopped (default 20)
#   KEEP            1: keep the exports under build/bench/ (default 0: each is removed after it is
#                   measured, so the disk needs the checkpoint plus 29 GB, not 58)
#   STEPS           which steps (default "cp fp16 fp32 optimum16 optimum")
#   FP32_ATOL       --atol of the float32 export (default 1e-3: float32 round-off over 32 layers of width
#                   4096 reaches 2e-4 here, past the architecture's 1e-5 made for the small fixtures)
# Disk: about 14.5 GB for the checkpoint, plus the largest export (29 GB).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
python=${PYTHON:-$repo/.venv-fixtures5/bin/python}
optimum_python=${OPTIMUM_PYTHON:-$repo/.venv-clients/bin/python}
stop_above=${STOP_ABOVE:-20}
keep=${KEEP:-0}
steps=${STEPS:-cp fp16 fp32 optimum16 optimum}
out=$build/bench
ckpt=$out/llama-7b
results=$out/llama7b.md
mkdir -p "$out"

if [ ! -d "$build" ] || [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target typeformer-export >/dev/null
exporter=$build/typeformer-export
measure() { python3 "$repo/bench/peak_memory.py" "$@"; }
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print('' if v is None else v)" "$1" "$2"; }

"$python" "$repo/bench/make_llama7b.py" "$ckpt"
ckpt_bytes=$(du -cb "$ckpt"/*.safetensors | tail -1 | cut -f1)
ckpt_gb=$(python3 -c "print(f'{$ckpt_bytes / 1e9:.1f}')")

rows=()
add() { rows+=("$1"); echo "$1" >&2; }

has() { [[ " $steps " == *" $1 "* ]]; }

if has cp; then
  rm -rf "$out/llama-7b-copy"
  mkdir -p "$out/llama-7b-copy"
  measure --json "$out/cp.json" -- sh -c "cp '$ckpt'/*.safetensors '$out/llama-7b-copy/' && sync '$out/llama-7b-copy'/*.safetensors"
  cp_s=$(field "$out/cp.json" wall_s)
  add "| \`cp\` of the shards + \`sync\` | $cp_s s | $(field "$out/cp.json" peak_rss_gib) GiB | $(field "$out/cp.json" peak_anon_gib) GiB | $ckpt_gb GB copied |"
  rm -rf "$out/llama-7b-copy"
fi

export_one() {  # name, extra flags...
  local name=$1; shift
  local dir=$out/llama-7b-onnx-$name
  rm -rf "$dir"
  set +e
  measure --json "$out/$name.json" -- "$exporter" --model "$ckpt" --feature causal-lm-with-past "$@" "$dir" \
    > "$out/$name.log" 2>&1
  local rc=$?
  set -e
  local size
  size=$(du -cb "$dir"/model.onnx* 2>/dev/null | tail -1 | cut -f1 || true)
  local written
  written=$(grep -o 'weights written in [0-9.]* s' "$out/$name.log" | grep -o '[0-9.]* s' || true)
  local validated
  validated=$(grep -o 'validating in bounded memory' "$out/$name.log" >/dev/null && echo "bounded memory" || echo "full")
  local verdict
  verdict=$(grep -q '^All good' "$out/$name.log" && echo "All good" || echo "exit $rc")
  add "| typeformer-export \`$*\` | $(field "$out/$name.json" wall_s) s (weights written in $written) | $(field "$out/$name.json" peak_rss_gib) GiB | $(field "$out/$name.json" peak_anon_gib) GiB | $(python3 -c "print(f'{${size:-0} / 1e9:.1f}')") GB written; validation ($validated): $verdict |"
  [ "$keep" = 1 ] || rm -rf "$dir"
}

if has fp16; then export_one fp16 --dtype fp16; fi
if has fp32; then export_one fp32 --external-data --atol "${FP32_ATOL:-1e-3}"; fi

optimum_one() {  # name, extra flags...
  local name=$1; shift
  if [ ! -x "$optimum_python" ]; then
    echo "llama7b.sh: $optimum_python not found (tools/clients/setup.sh makes it): Optimum skipped" >&2
    return
  fi
  local dir=$out/llama-7b-$name
  rm -rf "$dir"
  set +e
  measure --stop-above "$stop_above" --json "$out/$name.json" -- "$optimum_python" -m optimum.commands.optimum_cli \
    export onnx --model "$ckpt" --task text-generation-with-past "$@" "$dir" > "$out/$name.log" 2>&1
  set -e
  local stopped verdict
  stopped=$(field "$out/$name.json" stopped_at_s)
  if [ -n "$stopped" ]; then
    verdict="stopped after $stopped s, its anonymous memory past $stop_above GiB (this machine has $(free -g | awk '/Mem:/ {print $2}') GiB, no swap)"
  else
    verdict="exit $(field "$out/$name.json" exit); last line: $(tail -1 "$out/$name.log" | tr -d '\r' | cut -c1-120)"
  fi
  add "| \`optimum-cli export onnx --task text-generation-with-past $*\` | $(field "$out/$name.json" wall_s) s | $(field "$out/$name.json" peak_rss_gib) GiB | $(field "$out/$name.json" peak_anon_gib) GiB | $verdict |"
  [ "$keep" = 1 ] || rm -rf "$dir"
}

if has optimum16; then optimum_one optimum16 --dtype fp16; fi
if has optimum; then optimum_one optimum; fi

{
  echo "| step | wall | peak RSS | peak anonymous | result |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Checkpoint: $ckpt ($ckpt_gb GB of bf16 shards). Logs: $out/{fp16,fp32,optimum16,optimum}.log."
} | tee "$results"
