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

import json
import logging
import sys
import tempfile
import warnings
from pathlib import Path

from clientlib import arguments, compare, declared_cache, export, failure, fixtures_with_generation

# generate()'s settings as the fixtures ran it (tools/fixtures/seq2seq.py, GEN_SETTINGS): greedy, no
# logits processor; set on the model's generation config, which generate() fills unset arguments from
SETTINGS = dict(do_sample=False, num_beams=1, min_length=0, forced_bos_token_id=None, forced_eos_token_id=None,
                no_repeat_ngram_size=0, encoder_no_repeat_ngram_size=0, repetition_penalty=1.0,
                encoder_repetition_penalty=1.0, bad_words_ids=None, suppress_tokens=None,
                begin_suppress_tokens=None, sequence_bias=None, exponential_decay_length_penalty=None,
                renormalize_logits=False, eos_token_id=None, max_length=None, min_new_tokens=None)


class Collect(logging.Handler):
    """Optimum's and Transformers' log records (Optimum warns through logging)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check(exporter: Path, fixture: Path, work: Path, merged: bool) -> tuple[bool, str]:
    from optimum.onnxruntime import ORTModelForSeq2SeqLM
    from safetensors.torch import load_file

    out = work / fixture.parent.name
    if not (out / "encoder_model.onnx").exists():  # the second loading reuses the first's export
        if failed := export(exporter, fixture, "seq2seq-lm-with-past", out):
            return False, failed
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
            heads, size = declared_cache(out / ("decoder_model_merged.onnx" if merged else "decoder_with_past_model.onnx"),
                                         "past_key_values.0.decoder.key")
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
    same, note = compare(got, want, want_logits, 0)
    note = f"{used}: {note}"
    if said:
        note += "; Optimum said: " + " | ".join(said)
    if corrected:
        note += "; " + corrected
    return same, note


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, "bart marian")
    import optimum.onnxruntime  # noqa: F401 (fail early, before exporting)
    import onnxruntime
    import transformers

    print(f"optimum-onnx on transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}")
    if args.markdown:
        print("| fixture | loaded with | result |\n|---|---|---|")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in fixtures_with_generation(args.fixtures, "seq2seq-lm-with-past", args.only):
            model_type = json.loads((fixture / "config.json").read_text())["model_type"]
            for merged in (True, False):
                try:
                    ok, note = check(args.exporter, fixture, Path(tmp), merged)
                except Exception as e:  # noqa: BLE001 (reported)
                    ok, note = False, failure(e)
                bad += not ok
                label = f"{fixture.parent.name} ({model_type})"
                how = "use_merged=True" if merged else "use_merged=False"
                print(f"| {label} | {how} | {note} |" if args.markdown else f"{label:30s} {how:17s} {note}",
                      flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
