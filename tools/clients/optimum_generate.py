#!/usr/bin/env python3
"""Optimum's ORTModelForCausalLM on typeformer's exports.

For every decoder fixture with a generation run
(tests/fixtures/<dir>/causal-lm-with-past/generate.safetensors, made by
Transformers' generate()), export the checkpoint with typeformer-export
(causal-lm-with-past), load the folder with Optimum's ORTModelForCausalLM,
greedy-generate from the stored prompt with the same settings, and compare
the tokens and every step's logits with what Transformers gave.

    tools/clients/setup.sh                  # .venv-clients: optimum-onnx 0.1.0 (Transformers 4.57)
    .venv-clients/bin/python tools/clients/optimum_generate.py [--exporter build/typeformer-export]
        [--only llama qwen3 ...] [--markdown]

Prints one line per fixture (tokens equal or not, the largest logit
difference, what Optimum warned); exit status 1 if any fixture's tokens
differ or its export or load fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fixtures_with_generation(root: Path, only: list[str] | None) -> list[Path]:
    out = []
    for d in sorted(root.glob("*/causal-lm-with-past")):
        if not (d / "generate.safetensors").exists():
            continue
        if only and d.parent.name not in only:
            continue
        out.append(d)
    return out


def past_dims(model_file: Path) -> tuple[int | None, int | None]:
    """The key/value heads and head size the graph declares for past_key_values.0.key
    ([batch, heads, past, size]; None for another layout, e.g. BLOOM's)."""
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph
    for i in graph.input:
        if i.name == "past_key_values.0.key":
            dims = i.type.tensor_type.shape.dim
            if len(dims) == 4 and dims[1].HasField("dim_value") and dims[3].HasField("dim_value"):
                return dims[1].dim_value, dims[3].dim_value
    return None, None


def check(exporter: Path, fixture: Path, work: Path) -> tuple[bool, str]:
    import torch
    from optimum.onnxruntime import ORTModelForCausalLM
    from safetensors.torch import load_file

    name = fixture.parent.name
    out = work / name
    run = subprocess.run([str(exporter), "--model", str(fixture), "--feature", "causal-lm-with-past", str(out)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return False, f"export failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}"
    gen = load_file(str(fixture / "generate.safetensors"))
    prompt, want, want_logits = gen["gen.prompt"], gen["gen.sequences"], gen["gen.logits"]
    new = want.shape[1] - prompt.shape[1]
    corrected = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ORTModelForCausalLM.from_pretrained(out, use_cache=True, use_io_binding=False)
        # Optimum sizes the first step's empty past from the config by model_type (head size
        # hidden / heads for most types, key/value heads from num_key_value_heads for a listed few),
        # not from the graph: where that disagrees with the graph's declared cache, ONNX Runtime
        # refuses the feed whoever exported the model. Say so, then size it from the graph.
        heads, size = past_dims(out / "model.onnx")
        if heads is not None and hasattr(model, "embed_size_per_head") and (
                model.num_key_value_heads, model.embed_size_per_head) != (heads, size):
            corrected = (f"Optimum sizes the empty past [batch, {model.num_key_value_heads}, 0, "
                         f"{model.embed_size_per_head}] for model_type {model.config.model_type}, the graph's "
                         f"cache is [batch, {heads}, past, {size}] (as config.json says): ran with Optimum's "
                         f"num_key_value_heads / embed_size_per_head set from the graph")
            model.num_key_value_heads, model.embed_size_per_head = heads, size
        # greedy as the fixtures ran generate(): the logits processors a config may carry (the BART
        # family's forced_eos_token_id, no_repeat_ngram_size) off
        for k in ("forced_bos_token_id", "forced_eos_token_id", "bad_words_ids", "suppress_tokens",
                  "begin_suppress_tokens"):
            setattr(model.generation_config, k, None)
        model.generation_config.no_repeat_ngram_size = 0
        model.generation_config.repetition_penalty = 1.0
        got = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new,
                             min_new_tokens=new, do_sample=False, num_beams=1, eos_token_id=None, pad_token_id=0,
                             output_logits=True, return_dict_in_generate=True)
    said = sorted({str(w.message).splitlines()[0][:120] for w in caught
                   if "legacy" in str(w.message).lower() or "position_ids" in str(w.message)})
    logits = torch.stack([x.to(torch.float32) for x in got.logits])
    diff = (logits - want_logits).abs().max().item() if logits.shape == want_logits.shape else float("inf")
    same = torch.equal(got.sequences, want)
    note = f"tokens {'equal' if same else 'DIFFER'}, logits max |diff| {diff:.2e}"
    if not same:
        note += f" (got {got.sequences[0, prompt.shape[1]:].tolist()}, want {want[0, prompt.shape[1]:].tolist()})"
    if said:
        note += "; Optimum warned: " + " | ".join(said)
    if corrected:
        note += "; " + corrected
    return same, note


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", type=Path, default=REPO / "build" / "typeformer-export")
    ap.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures")
    ap.add_argument("--only", nargs="+", metavar="DIR", help="fixture folders, e.g. llama qwen3 llama-llama3")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    import optimum.onnxruntime  # noqa: F401 (fail early, before exporting)
    import onnxruntime
    import transformers

    transformers.logging.set_verbosity_error()
    print(f"optimum-onnx on transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}")
    if args.markdown:
        print("| fixture | result |\n|---|---|")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in fixtures_with_generation(args.fixtures, args.only):
            model_type = json.loads((fixture / "config.json").read_text())["model_type"]
            try:
                ok, note = check(args.exporter, fixture, Path(tmp))
            except Exception as e:  # noqa: BLE001 (reported)
                ok, note = False, f"fails: {type(e).__name__}: " + " ".join(str(e).split())[:400]
            bad += not ok
            label = f"{fixture.parent.name} ({model_type})"
            print(f"| {label} | {note} |" if args.markdown else f"{label:40s} {note}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
