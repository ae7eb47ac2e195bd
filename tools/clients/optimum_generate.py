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

import json
import logging
import sys
import tempfile
import warnings
from pathlib import Path

from clientlib import arguments, compare, declared_cache, export, failure, fixtures_with_generation


class LoggedWarnings(logging.Handler):
    """What Optimum's loggers warn (the "legacy" export without position_ids is
    a logger.warning, not a warnings.warn)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check(exporter: Path, fixture: Path, work: Path) -> tuple[bool, str]:
    import torch
    from optimum.onnxruntime import ORTModelForCausalLM
    from safetensors.torch import load_file

    out = work / fixture.parent.name
    if failed := export(exporter, fixture, "causal-lm-with-past", out):
        return False, failed
    gen = load_file(str(fixture / "generate.safetensors"))
    prompt, want, want_logits = gen["gen.prompt"], gen["gen.sequences"], gen["gen.logits"]
    new = want.shape[1] - prompt.shape[1]
    corrected = ""
    logged = LoggedWarnings()
    optimum_logger = logging.getLogger("optimum")
    optimum_logger.addHandler(logged)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = ORTModelForCausalLM.from_pretrained(out, use_cache=True, use_io_binding=False)
            # Optimum sizes the first step's empty past from the config by model_type (head size
            # hidden / heads for most types, key/value heads from num_key_value_heads for a listed few),
            # not from the graph: where that disagrees with the graph's declared cache, ONNX Runtime
            # refuses the feed whoever exported the model. Say so, then size it from the graph.
            heads, size = declared_cache(out / "model.onnx", "past_key_values.0.key")
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
    finally:
        optimum_logger.removeHandler(logged)
    messages = [str(w.message) for w in caught] + logged.messages
    said = sorted({m.splitlines()[0][:120] for m in messages if "legacy" in m.lower() or "position_ids" in m})
    same, note = compare(got, want, want_logits, prompt.shape[1])
    if said:
        note += "; Optimum warned: " + " | ".join(said)
    if corrected:
        note += "; " + corrected
    return same, note


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, "llama qwen3 llama-llama3")
    import optimum.onnxruntime  # noqa: F401 (fail early, before exporting)
    import onnxruntime
    import transformers

    transformers.logging.set_verbosity_error()
    print(f"optimum-onnx on transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}")
    if args.markdown:
        print("| fixture | result |\n|---|---|")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in fixtures_with_generation(args.fixtures, "causal-lm-with-past", args.only):
            model_type = json.loads((fixture / "config.json").read_text())["model_type"]
            try:
                ok, note = check(args.exporter, fixture, Path(tmp))
            except Exception as e:  # noqa: BLE001 (reported)
                ok, note = False, failure(e)
            bad += not ok
            label = f"{fixture.parent.name} ({model_type})"
            print(f"| {label} | {note} |" if args.markdown else f"{label:40s} {note}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
