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
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
model=${MODEL:-bart-large}
ckpt=$out/$model
results=$out/seq2seq.md

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

dir=$out/$model-typeformer
rm -rf "$dir"
set +e
measure --json "$out/s2s-typeformer.json" -- "$exporter" --model "$ckpt" --task text2text-generation-with-past "$dir" \
  > "$out/s2s-typeformer.log" 2>&1
rc=$?
set -e
written=$(written_in "$out/s2s-typeformer.log")
verdict=$(verdict_of "$out/s2s-typeformer.log" "$rc")
worst=$(worst_diff "$out/s2s-typeformer.log")
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
