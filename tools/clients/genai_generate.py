#!/usr/bin/env python3
"""ONNX Runtime GenAI (onnxruntime-genai) on typeformer's --genai exports.

For every decoder fixture with a generation run
(tests/fixtures/<dir>/causal-lm-with-past/generate.safetensors, made by
Transformers' generate()) whose model type GenAI runs, export the checkpoint
with `typeformer-export --genai` (causal-lm-with-past and genai_config.json),
add a tokenizer this script builds (tokenizer.json and tokenizer_config.json
over the model's vocabulary: GenAI loads one with every model, and the run
starts from token ids), load the folder with onnxruntime_genai.Model,
greedily generate 8 tokens from the stored prompt (the batch of 2 at once)
and compare the tokens and every step's logits with Transformers'.

generate_padded.safetensors (a left-padded batch, where the family takes
position_ids) is run row by row, each row's prompt without its padding:
GenAI 0.18's append_tokens takes a batch of token ids and no attention
mask, and does not generate from a left-padded batch what Transformers
does.

Phi-3 under LongRoPE: Transformers' generation loop drops its cache once
the sequence outgrows original_max_position_embeddings and reruns the
whole sequence (long factors for every position); the script does the same
with GenAI (a new generator over the sequence at that step), and says so.

The fixtures ran generate() without an end of sequence (eos_token_id=None,
8 new tokens always) and with every prompt token attended to; GenAI ends a
row at eos_token_id, and needs one (typeformer-export --genai refuses a
checkpoint naming none). The script therefore exports a copy of each
fixture with a generation_config.json naming as eos_token_id and
pad_token_id two ids that the stored prompts and generated tokens never
hold, and says which.

    python3 -m venv /tmp/vgenai
    /tmp/vgenai/bin/pip install onnxruntime-genai==0.18.0 numpy tokenizers safetensors
    /tmp/vgenai/bin/python tools/clients/genai_generate.py [--exporter build/typeformer-export]
        [--only llama qwen3 ...] [--markdown]

Prints one line per fixture; exit status 1 if any fixture's tokens differ
or its export or load fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from clientlib import arguments, failure, fixtures_with_generation

# the model types typeformer-export --genai writes (typeformer/export/genai.hpp)
GENAI_TYPES = ("llama", "mistral", "qwen2", "qwen3", "phi", "phi3", "gemma", "gemma2", "gemma3_text",
               "granite", "smollm3", "ernie4_5", "qwen3_5_text", "gpt_oss", "gemma4_text")


def byte_symbols() -> list[str]:
    """GPT-2's byte-level alphabet: the 256 printable characters ByteLevel maps the bytes to."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = [b for b in range(256) if b not in keep]
    return [chr(b) for b in keep] + [chr(256 + k) for k in range(len(extra))]


def write_tokenizer(folder: Path, vocab_size: int) -> None:
    """A byte-level BPE over ids 0 .. vocab_size - 1 (the bytes' symbols, then merges), saved as
    tokenizer.json and tokenizer_config.json (GPT2Tokenizer, which GenAI's tokenizer loads)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    symbols = byte_symbols()
    tokens = symbols[:vocab_size]
    known = set(tokens)
    merges = []
    k = 0
    while len(tokens) < vocab_size:  # more ids than bytes: a token and a byte merged, in this order
        a, b = tokens[k // 256], symbols[k % 256]
        if a + b not in known:
            merges.append((a, b))
            tokens.append(a + b)
            known.add(a + b)
        k += 1
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1 << 20, "add_prefix_space": False}, indent=2))


def generate(og, model, prompt, new: int, restart_at: int = 0):
    """Greedy generation of `new` tokens from the token ids `prompt` [B, P]: the sequences [B, P + new] and
    each step's logits [new, B, V]. `restart_at` > 0: once the sequence outgrows it, from a past no longer
    than it, the cache is dropped and the whole sequence run again, as Transformers' Phi-3 generation loop
    does under LongRoPE (its prepare_inputs_for_generation)."""
    import numpy as np

    params = og.GeneratorParams(model)
    params.set_search_options(max_length=prompt.shape[1] + new, do_sample=False, batch_size=prompt.shape[0])
    gen = og.Generator(model, params)
    gen.append_tokens(prompt.astype(np.int32))
    logits = []
    restarted = False
    while not gen.is_done():
        logits.append(np.array(gen.get_logits()).reshape(prompt.shape[0], -1))
        gen.generate_next_token()
        length = len(gen.get_sequence(0))
        if restart_at and not restarted and length >= restart_at + 1 and length - 1 <= restart_at and \
                length < prompt.shape[1] + new:
            seqs = np.stack([np.array(gen.get_sequence(b), dtype=np.int32) for b in range(prompt.shape[0])])
            gen = og.Generator(model, params)
            gen.append_tokens(seqs)
            restarted = True
    seqs = np.stack([np.array(gen.get_sequence(b), dtype=np.int64) for b in range(prompt.shape[0])])
    return seqs, np.stack(logits)


def longrope_restart(config: dict) -> int:
    """Where Transformers' Phi-3 generation reruns the sequence (original_max_position_embeddings under
    LongRoPE); 0 for any other model."""
    if config.get("model_type") != "phi3":
        return 0
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type")) not in ("longrope", "su", "yarn"):
        return 0
    return int(config.get("original_max_position_embeddings") or rope.get("original_max_position_embeddings") or 0)


def compare(seqs, logits, want, want_logits, first_new: int) -> tuple[bool, str]:
    import numpy as np

    same = seqs.shape == want.shape and bool((seqs == want).all())
    diff = float(np.abs(logits - want_logits).max()) if logits.shape == want_logits.shape else float("inf")
    note = f"tokens {'equal' if same else 'DIFFER'}, logits max |diff| {diff:.2e}"
    if not same:
        note += f" (got {seqs[:, first_new:].tolist()}, want {want[:, first_new:].tolist()})"
    return same, note


def unused_ids(fixture: Path, vocab: int, n: int) -> list[int]:
    """The `n` smallest token ids that no stored prompt or generated sequence of the fixture holds."""
    from safetensors.numpy import load_file

    seen = set()
    for name in ("generate.safetensors", "generate_padded.safetensors"):
        if (fixture / name).exists():
            gen = load_file(str(fixture / name))
            seen |= set(gen["gen.prompt"].ravel().tolist()) | set(gen["gen.sequences"].ravel().tolist())
    return [i for i in range(vocab) if i not in seen][:n]


# multimodal checkpoints whose text decoder typeformer exports: text_config's model_type where it names none
COMPOSITE_TEXT = {"gemma3": "gemma3_text", "mistral3": "mistral", "llama4": "llama4_text", "qwen3_5": "qwen3_5_text",
                  "gemma4": "gemma4_text"}


def text_part(config: dict) -> dict:
    """The text decoder's config: a multimodal checkpoint's text_config (its model_type filled in), else config."""
    if config.get("model_type") in COMPOSITE_TEXT and isinstance(config.get("text_config"), dict):
        return {"model_type": COMPOSITE_TEXT[config["model_type"]], **config["text_config"]}
    return config


def check(og, exporter: Path, fixture: Path, work: Path) -> tuple[bool, str]:
    import shutil

    from safetensors.numpy import load_file

    # the checkpoint with a generation_config.json naming an end of sequence and a padding token that the
    # fixture's run never meets: generate() ran without eos (8 new tokens always) and with every prompt token
    # attended to, and GenAI ends a row at eos_token_id and takes a prompt's trailing pad_token_id for padding
    model_dir = work / (fixture.parent.name + "-model")
    shutil.copytree(fixture, model_dir)
    config = text_part(json.loads((fixture / "config.json").read_text()))
    eos, pad = unused_ids(fixture, config["vocab_size"], 2)
    (model_dir / "generation_config.json").write_text(json.dumps({"eos_token_id": eos, "pad_token_id": pad}))
    out = work / fixture.parent.name
    run = subprocess.run([str(exporter), "--model", str(model_dir), "--genai", str(out)], capture_output=True,
                         text=True)
    if run.returncode != 0:
        return False, f"export failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}"
    written = json.loads((out / "genai_config.json").read_text())["model"]
    if (written.get("eos_token_id"), written.get("pad_token_id")) != (eos, pad):
        return False, f"genai_config.json does not follow generation_config.json: {written}"
    write_tokenizer(out, written["vocab_size"])
    model = og.Model(str(out))
    og.Tokenizer(model)  # loads with the model
    notes = [f"type {model.type}"]
    ok = True

    gen = load_file(str(fixture / "generate.safetensors"))
    prompt, want, want_logits = gen["gen.prompt"], gen["gen.sequences"], gen["gen.logits"]
    new = want.shape[1] - prompt.shape[1]
    restart = longrope_restart(config)
    seqs, logits = generate(og, model, prompt, new, restart)
    same, note = compare(seqs, logits, want, want_logits, prompt.shape[1])
    ok = ok and same
    notes.append(f"batch of {prompt.shape[0]}: {note}")

    padded_file = fixture / "generate_padded.safetensors"
    if padded_file.exists():
        gen = load_file(str(padded_file))
        prompt, mask, want, want_logits = gen["gen.prompt"], gen["gen.mask"], gen["gen.sequences"], gen["gen.logits"]
        rows = []
        for b in range(prompt.shape[0]):
            real = prompt[b][mask[b] == 1][None, :]
            seqs, logits = generate(og, model, real, new, restart)
            same, note = compare(seqs[:, real.shape[1]:], logits, want[b:b + 1, prompt.shape[1]:],
                                 want_logits[:, b:b + 1], 0)
            ok = ok and same
            rows.append(f"row {b} ({real.shape[1]} of {prompt.shape[1]} tokens) {note}")
        notes.append("left-padded, each row alone: " + "; ".join(rows))
    if restart:
        notes.append(f"the cache dropped once the sequence outgrew {restart} tokens, as Transformers' Phi-3 loop "
                     "does under LongRoPE")
    notes.append(f"eos_token_id {eos}, pad_token_id {pad}")
    return ok, "; ".join(notes)


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, "llama qwen3 gpt2")
    import onnxruntime_genai as og

    version = getattr(og, "__version__", "?")
    print(f"onnxruntime-genai {version}")
    if args.markdown:
        print("| fixture | result |\n|---|---|")
    bad = 0
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in fixtures_with_generation(args.fixtures, "causal-lm-with-past", args.only):
            model_type = text_part(json.loads((fixture / "config.json").read_text()))["model_type"]
            if model_type not in GENAI_TYPES:
                skipped.append(f"{fixture.parent.name} ({model_type})")
                continue
            try:
                ok, note = check(og, args.exporter, fixture, Path(tmp))
            except Exception as e:  # noqa: BLE001 (reported)
                ok, note = False, failure(e)
            bad += not ok
            label = f"{fixture.parent.name} ({model_type})"
            print(f"| {label} | {note} |" if args.markdown else f"{label:40s} {note}", flush=True)
    if skipped:
        print(f"\nnot run (model types GenAI does not run, refused by --genai): {', '.join(skipped)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
