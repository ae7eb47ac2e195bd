#!/usr/bin/env bash
# An encoder-decoder side by side: export a BART-large-shaped checkpoint
# (random weights, float32, 406M parameters) as text2text-generation-with-past
# with typeformer-export and with optimum-cli, each validating its export,
# and compare wall time, peak memory and what each wrote. Prints a Markdown
# table and writes it to build/bench/seq2seq.md; see bench/README.md
# ("An encoder-decoder").
#
#   bench/seq2seq.sh
#
# Environment:
#   BUILD_DIR       the build folder (default build); typeformer-export is built there
#   PYTHON          makes the checkpoint (default .venv-fixtures5/bin/python: torch + Transformers)
#   OPTIMUM_PYTHON  a Python with optimum-onnx (default .venv-clients/bin/python; skipped if absent)
#   MODEL           bart-large (default) or bart-base: the shape of the checkpoint
# Disk: about 1.6 GB for the checkpoint (bart-large) and 4 GB for each export.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
python=${PYTHON:-$repo/.venv-fixtures5/bin/python}
optimum_python=${OPTIMUM_PYTHON:-$repo/.venv-clients/bin/python}
model=${MODEL:-bart-large}
out=$build/bench
ckpt=$out/$model
results=$out/seq2seq.md
mkdir -p "$out"

if [ ! -d "$build" ] || [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target typeformer-export >/dev/null
exporter=$build/typeformer-export
measure() { python3 "$repo/bench/peak_memory.py" "$@"; }
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print('' if v is None else v)" "$1" "$2"; }
size_gb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e9:.2f}')" "$(du -cb "$1"/*.onnx* | tail -1 | cut -f1)"; }

if [ ! -f "$ckpt/model.safetensors" ]; then
  "$python" - "$ckpt" "$model" <<'PY'
import sys
import torch
from transformers import BartConfig, BartForConditionalGeneration
out, shape = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
if shape == "bart-large":
    c = BartConfig(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                   decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096)
else:
    c = BartConfig(d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                   decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072)
m = BartForConditionalGeneration(c).eval()
m.save_pretrained(out, safe_serialization=True)
print(f"{shape}: {sum(p.numel() for p in m.parameters()) / 1e6:.0f}M parameters in {out}", file=sys.stderr)
PY
fi

rows=()
add() { rows+=("$1"); echo "$1" >&2; }

dir=$out/$model-typeformer
rm -rf "$dir"
set +e
measure --json "$out/s2s-typeformer.json" -- "$exporter" --model "$ckpt" --task text2text-generation-with-past "$dir" \
  > "$out/s2s-typeformer.log" 2>&1
rc=$?
set -e
written=$(grep -o 'weights written in [0-9.]* s' "$out/s2s-typeformer.log" | grep -o '[0-9.]* s' || true)
verdict=$(grep -q '^All good' "$out/s2s-typeformer.log" && echo "All good" || echo "exit $rc")
worst=$(grep -o 'max diff: [0-9.e+-]*' "$out/s2s-typeformer.log" | awk '{print $3}' | sort -g | tail -1)
add "| typeformer-export | $(field "$out/s2s-typeformer.json" wall_s) s (weights written in $written) | $(field "$out/s2s-typeformer.json" peak_rss_gib) GiB | $(field "$out/s2s-typeformer.json" peak_anon_gib) GiB | $(size_gb "$dir") GB in 4 graphs; every graph validated: $verdict, largest difference $worst |"

if [ -x "$optimum_python" ]; then
  odir=$out/$model-optimum
  rm -rf "$odir"
  set +e
  measure --json "$out/s2s-optimum.json" -- "$optimum_python" -m optimum.exporters.onnx --model "$ckpt" \
    --task text2text-generation-with-past "$odir" > "$out/s2s-optimum.log" 2>&1
  rc=$?
  set -e
  verdict=$([ "$rc" = 0 ] && echo "exit 0" || echo "exit $rc")
  add "| optimum-cli export onnx | $(field "$out/s2s-optimum.json" wall_s) s | $(field "$out/s2s-optimum.json" peak_rss_gib) GiB | $(field "$out/s2s-optimum.json" peak_anon_gib) GiB | $(size_gb "$odir") GB in 4 graphs; $verdict |"
fi

{
  echo "| $model, text2text-generation-with-past | wall | peak RSS | peak anonymous | result |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$results"
