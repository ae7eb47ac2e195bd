#!/usr/bin/env python3
"""Optimum's ORTModelFor* image classes on typeformer's image-model exports.

For every image-model fixture (tests/fixtures/<dir>/<feature>/io.safetensors
with an input.pixel_values, made by Transformers 5.23), export the
checkpoint with typeformer-export, load the folder with the class Optimum
gives the task, run it on the fixture's images and compare every output
with what Transformers computed:

    default                ORTModelForFeatureExtraction
    image-classification   ORTModelForImageClassification
    masked-im              ORTModelForImageToImage (its output is `reconstruction`)
    semantic-segmentation  ORTModelForSemanticSegmentation
    object-detection       ORTModelForCustomTasks (optimum-onnx 0.1 has no detection class)
    image-segmentation     ORTModelForCustomTasks (nor a segmentation class for DETR's masks)

ORTModelForCustomTasks also where the task's class cannot feed the graph's
inputs (DETR's pixel_mask) or return its outputs (LeViT's and MobileViT's
pooler_output, BEiT's masked-im `logits`), and the line says so. A fixture
made with forward arguments (io.safetensors metadata `forward`:
`{"interpolate_pos_encoding": true}`) is exported with the matching option
(--interpolate-pos-encoding).

    tools/clients/setup.sh                  # .venv-clients: optimum-onnx 0.1.0 (Transformers 4.57)
    .venv-clients/bin/python tools/clients/optimum_vision.py [--exporter build/typeformer-export]
        [--only vit resnet ...] [--markdown]

Prints one line per fixture; exit status 1 if an output differs by more
than ATOL, or an export or a load fails.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from clientlib import arguments, export, failure

ATOL = 1e-4  # the legacy table's tolerance for image models
CLASSES = {
    "default": "ORTModelForFeatureExtraction",
    "image-classification": "ORTModelForImageClassification",
    "masked-im": "ORTModelForImageToImage",
    "semantic-segmentation": "ORTModelForSemanticSegmentation",
    "object-detection": "ORTModelForCustomTasks",
    "image-segmentation": "ORTModelForCustomTasks",
}
# io.safetensors' `forward` arguments and the export option that matches each
OPTIONS = {"interpolate_pos_encoding": "--interpolate-pos-encoding"}


def image_fixtures(root: Path, only: list[str] | None) -> list[Path]:
    """The fixture folders <root>/*/<feature> of an image task whose inputs include pixel_values."""
    from safetensors import safe_open

    found = []
    for d in sorted(root.glob("*/*")):
        if d.name not in CLASSES or not (d / "io.safetensors").exists() or (only and d.parent.name not in only):
            continue
        with safe_open(str(d / "io.safetensors"), "pt") as f:
            if "input.pixel_values" in f.keys():
                found.append(d)
    return found


def check(exporter: Path, fixture: Path, work: Path) -> tuple[bool, str]:
    import optimum.onnxruntime as ort_models
    import torch
    from safetensors.torch import load_file

    import json

    from safetensors import safe_open

    feature = fixture.name
    out = work / f"{fixture.parent.name}-{feature}"
    with safe_open(str(fixture / "io.safetensors"), "pt") as f:
        forward = json.loads((f.metadata() or {}).get("forward", "{}"))
    unknown = sorted(set(forward) - set(OPTIONS))
    if unknown:
        return False, f"the fixture's forward arguments {unknown} have no export option here"
    extra = [OPTIONS[k] for k, v in forward.items() if v]
    why = export(exporter, fixture, feature, out, extra)
    if why:
        return False, why
    io = load_file(str(fixture / "io.safetensors"))
    inputs = {k[len("input."):]: v for k, v in io.items() if k.startswith("input.")}
    want = {k[len("output."):]: v for k, v in io.items() if k.startswith("output.")}
    name = CLASSES[feature]
    why = ""
    if set(inputs) != {"pixel_values"} and name != "ORTModelForCustomTasks":
        # the task's class feeds pixel_values only (DETR-likes also take pixel_mask)
        why = f" ({name} feeds pixel_values only; the graph also takes {', '.join(sorted(set(inputs) - {'pixel_values'}))})"
        name = "ORTModelForCustomTasks"
    try:
        got = None
        if name != "ORTModelForCustomTasks":
            try:
                got = getattr(ort_models, name).from_pretrained(out)(**inputs)
            except KeyError as e:
                # the task's class reads an output the graph does not have (BEiT's masked-im gives logits,
                # not ViT's reconstruction)
                why = f" ({name} reads the output {e}, which this task does not have)"
            if got is not None and not set(want) <= set(got.keys()):
                # the task's class returns its task's outputs only (LeViT's and MobileViT's default add pooler_output)
                why = f" ({name} returns {', '.join(got.keys())} only)"
                got = None
            if got is None:
                name = "ORTModelForCustomTasks"
        if got is None:
            got = getattr(ort_models, name).from_pretrained(out)(**inputs)
    except Exception as e:  # noqa: BLE001 (report whatever the client raises)
        return False, failure(e)
    notes, ok = [], True
    for output, w in want.items():
        g = got[output] if output in got else None
        if g is None:
            ok = False
            notes.append(f"{output} missing")
            continue
        g = torch.as_tensor(g)
        d = (g - w).abs().max().item() if g.shape == w.shape else float("inf")
        ok = ok and d <= ATOL
        notes.append(f"{output} {list(w.shape)} max |diff| {d:.2e}")
    return ok, f"{name}{why}{' with ' + ' '.join(extra) if extra else ''}: " + ", ".join(notes)


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, "vit resnet")
    fixtures = image_fixtures(args.fixtures, args.only)
    if not fixtures:
        print("no image-model fixtures found", file=sys.stderr)
        return 1
    failed = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in fixtures:
            ok, note = check(args.exporter, d, Path(tmp))
            failed += not ok
            rows.append((f"{d.parent.name}/{d.name}", ("" if ok else "FAIL: ") + note))
            if not args.markdown:
                print(f"{rows[-1][0]:40s} {rows[-1][1]}", flush=True)
    if args.markdown:
        print("| fixture | result |\n|---|---|")
        for name, note in rows:
            print(f"| {name} | {note} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
