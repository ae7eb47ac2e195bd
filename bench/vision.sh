#!/usr/bin/env bash
# Image models side by side: export a ViT-base-shaped and a ConvNeXT-tiny-shaped
# checkpoint (random weights, float32) as image-classification with
# typeformer-export and with optimum-cli, each validating its export, and
# compare wall time, peak memory and what each wrote. Prints a Markdown
# table and writes it to build/bench/vision.md; see bench/README.md
# ("Image models").
#
#   bench/vision.sh
#
# Environment: BUILD_DIR, PYTHON, OPTIMUM_PYTHON (bench/lib.sh).
# Disk: about 0.7 GB for the checkpoints and as much for the exports.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
results=$out/vision.md

for model in vit-base convnext-tiny; do
  [ -f "$out/$model/model.safetensors" ] && continue
  "$python" - "$out/$model" "$model" <<'PY'
import sys
import torch
from transformers import ConvNextConfig, ConvNextForImageClassification, ViTConfig, ViTForImageClassification
out, shape = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
if shape == "vit-base":  # google/vit-base-patch16-224's shape
    m = ViTForImageClassification(ViTConfig(num_labels=1000))
else:  # facebook/convnext-tiny-224's shape
    m = ConvNextForImageClassification(ConvNextConfig(depths=[3, 3, 9, 3], hidden_sizes=[96, 192, 384, 768],
                                                      num_labels=1000))
m.eval().save_pretrained(out, safe_serialization=True)
print(f"{shape}: {sum(p.numel() for p in m.parameters()) / 1e6:.0f}M parameters in {out}", file=sys.stderr)
PY
done

for model in vit-base convnext-tiny; do
  dir=$out/$model-typeformer
  rm -rf "$dir"
  set +e
  measure --json "$out/$model-typeformer.json" -- "$exporter" --model "$out/$model" --task image-classification "$dir" \
    > "$out/$model-typeformer.log" 2>&1
  rc=$?
  set -e
  add "| $model | typeformer-export | $(field "$out/$model-typeformer.json" wall_s) s (weights written in $(written_in "$out/$model-typeformer.log")) | $(field "$out/$model-typeformer.json" peak_rss_gib) GiB | $(size_gb "$dir") GB; validated: $(verdict_of "$out/$model-typeformer.log" "$rc"), largest difference $(worst_diff "$out/$model-typeformer.log") |"
  if [ -x "$optimum_python" ]; then
    odir=$out/$model-optimum
    rm -rf "$odir"
    set +e
    measure --json "$out/$model-optimum.json" -- "$optimum_python" -m optimum.exporters.onnx --model "$out/$model" \
      --task image-classification "$odir" > "$out/$model-optimum.log" 2>&1
    rc=$?
    set -e
    add "| $model | optimum-cli export onnx | $(field "$out/$model-optimum.json" wall_s) s | $(field "$out/$model-optimum.json" peak_rss_gib) GiB | $(size_gb "$odir") GB; exit $rc |"
  fi
done

{
  echo "| model, image-classification | exporter | wall | peak RSS | result |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$results"
