#!/usr/bin/env python3
"""Optimum's ORTModelForSeq2SeqLM on typeformer's encoder-decoder exports.

For every encoder-decoder fixture with a generation run
(tests/fixtures/<dir>/seq2seq-lm-with-past/generate.safetensors, made by
Transformers' generate()), export the checkpoint with typeformer-export
(seq2seq-lm-with-past: encoder_model, decoder_model, decoder_with_past_model
and decoder_model_merged), load the folder with Optimum's
ORTModelForSeq2SeqLM twice (with the merged decoder, Optimum's default, and
with the two decoders), greedy-generate from the stored padded prompt with
every logits processor off, and compare the tokens and every step's logits
with what Transformers gave.

    tools/clients/setup.sh                  # .venv-clients: optimum-onnx 0.1.0 (Transformers 4.57)
    .venv-clients/bin/python tools/clients/optimum_seq2seq.py [--exporter build/typeformer-export]
        [--only bart marian ...] [--markdown]

Prints one line per fixture and loading (tokens equal or not, the largest
logit difference, what Optimum warned); exit status 1 if any tokens differ or
an export or load fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# generate()'s settings as the fixtures ran it (tools/fixtures/seq2seq.py, GEN_SETTINGS): greedy, no
# logits processor; set on the model's generation config, which generate() fills unset arguments from
SETTINGS = dict(do_sample=False, num_beams=1, min_length=0, forced_bos_token_id=None, forced_eos_token_id=None,
                no_repeat_ngram_size=0, encoder_no_repeat_ngram_size=0, repetition_penalty=1.0,
                encoder_repetition_penalty=1.0, bad_words_ids=None, suppress_tokens=None,
                begin_suppress_tokens=None, sequence_bias=None, exponential_decay_length_penalty=None,
                renormalize_logits=False, eos_token_id=None, max_length=None, min_new_tokens=None)


def fixtures_with_generation(root: Path, only: list[str] | None) -> list[Path]:
    out = []
    for d in sorted(root.glob("*/seq2seq-lm-with-past")):
        if (d / "generate.safetensors").exists() and (not only or d.parent.name in only):
            out.append(d)
    return out


class Collect(logging.Handler):
    """Optimum's and Transformers' log records (Optimum warns through logging)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def past_dims(model_file: Path) -> tuple[int | None, int | None]:
    """The heads and head size the graph declares for past_key_values.0.decoder.key."""
    import onnx

    for i in onnx.load(str(model_file), load_external_data=False).graph.input:
        if i.name == "past_key_values.0.decoder.key":
            dims = i.type.tensor_type.shape.dim
            return dims[1].dim_value or None, dims[3].dim_value or None
    return None, None


def check(exporter: Path, fixture: Path, work: Path, merged: bool) -> tuple[bool, str]:
    import torch
    from optimum.onnxruntime import ORTModelForSeq2SeqLM
    from safetensors.torch import load_file

    out = work / fixture.parent.name
    if not (out / "encoder_model.onnx").exists():
        run = subprocess.run([str(exporter), "--model", str(fixture), "--feature", "seq2seq-lm-with-past", str(out)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            return False, f"export failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}"
    gen = load_file(str(fixture / "generate.safetensors"))
    prompt, mask, want, want_logits = gen["gen.prompt"], gen["gen.mask"], gen["gen.sequences"], gen["gen.logits"]
    new = want.shape[1] - 1
    collect = Collect()
    loggers = [logging.getLogger(n) for n in ("optimum", "transformers", "")]
    for lg in loggers:
        lg.addHandler(collect)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = ORTModelForSeq2SeqLM.from_pretrained(out, use_cache=True, use_merged=merged,
                                                         use_io_binding=False)
            for k, v in SETTINGS.items():
                setattr(model.generation_config, k, v)
            # Optimum sizes the merged decoder's first, empty cache from config.num_attention_heads
            # (BART-style configs map it to encoder_attention_heads) and hidden_size / that (not T5's
            # d_kv): where the decoder's cache differs (as these fixtures' do), ONNX Runtime refuses
            # the feed whoever exported the model. Say so, then size it from the graph.
            corrected = ""
            decoder = model.decoder
            heads, size = past_dims(out / ("decoder_model_merged.onnx" if merged else "decoder_with_past_model.onnx"))
            if heads and hasattr(decoder, "num_attention_heads") and (
                    decoder.num_attention_heads, decoder.embed_size_per_head) != (heads, size):
                corrected = (f"Optimum sizes the empty cache [batch, {decoder.num_attention_heads}, 0, "
                             f"{decoder.embed_size_per_head}] from config.json (num_attention_heads, the encoder's "
                             f"for BART-style configs, and hidden size / heads); the decoder's cache is "
                             f"[batch, {heads}, past, {size}]: ran with Optimum's sizes set from the graph")
                decoder.num_attention_heads, decoder.embed_size_per_head = heads, size
            got = model.generate(input_ids=prompt, attention_mask=mask, max_new_tokens=new,
                                 output_logits=True, return_dict_in_generate=True)
    finally:
        for lg in loggers:
            lg.removeHandler(collect)
    said = sorted({m.splitlines()[0][:140] for m in collect.messages + [str(w.message) for w in caught]
                   if "onnx" in m.lower() or "merged" in m.lower() or "legacy" in m.lower()})
    used = "merged decoder" if model.decoder.is_merged else "decoder + decoder with past"
    logits = torch.stack([x.to(torch.float32) for x in got.logits])
    diff = (logits - want_logits).abs().max().item() if logits.shape == want_logits.shape else float("inf")
    same = torch.equal(got.sequences, want)
    note = f"{used}: tokens {'equal' if same else 'DIFFER'}, logits max |diff| {diff:.2e}"
    if not same:
        note += f" (got {got.sequences[0].tolist()}, want {want[0].tolist()})"
    if said:
        note += "; Optimum said: " + " | ".join(said)
    if corrected:
        note += "; " + corrected
    return same, note


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", type=Path, default=REPO / "build" / "typeformer-export")
    ap.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures")
    ap.add_argument("--only", nargs="+", metavar="DIR", help="fixture folders, e.g. bart marian")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    import optimum.onnxruntime  # noqa: F401 (fail early, before exporting)
    import onnxruntime
    import transformers

    print(f"optimum-onnx on transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}")
    if args.markdown:
        print("| fixture | loaded with | result |\n|---|---|---|")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in fixtures_with_generation(args.fixtures, args.only):
            model_type = json.loads((fixture / "config.json").read_text())["model_type"]
            for merged in (True, False):
                try:
                    ok, note = check(args.exporter, fixture, Path(tmp), merged)
                except Exception as e:  # noqa: BLE001 (reported)
                    ok, note = False, f"fails: {type(e).__name__}: " + " ".join(str(e).split())[:400]
                bad += not ok
                label = f"{fixture.parent.name} ({model_type})"
                how = "use_merged=True" if merged else "use_merged=False"
                print(f"| {label} | {how} | {note} |" if args.markdown else f"{label:30s} {how:17s} {note}",
                      flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
