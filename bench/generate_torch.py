"""Greedy decoding at batch 1 in Transformers (PyTorch, eager, float32), timed
like bench_generate (ONNX Runtime) so that bench/decoders.sh can put them side
by side.

    .venv-fixtures/bin/python bench/generate_torch.py MODEL_DIR [--prompt 32] [--new 64] [--reps 3] [--threads 2] [--generate]

The prompt is token ids (1000 + 37 i) mod vocab, i = 0..prompt-1, as in
bench_generate. One run: the prefill (the prompt, no past; its last logits
give the first new token), then new-1 decode steps, each
`model(next_token, attention_mask=ones, past_key_values=past, use_cache=True)`:
the loop `generate()` runs, without its logits processors. Each figure is the
median over `reps` runs after an untimed warm-up run of min(new, 8) tokens:
    prefill_ms      the first forward + the argmax
    decode_tok_s    (new - 1) / the time of the decode steps
    total_ms        the whole run
    generate_ms     with --generate, once: `model.generate(prompt, max_new_tokens=new,
                    do_sample=False, use_cache=True)` with no end-of-sequence
                    token, the same tokens (checked), to show the manual loop
                    costs what generate() costs
Threads: torch.set_num_threads(threads), inter-op 1, under torch.inference_mode.

Loading: the model is built with Transformers' no_init_weights (parameters
allocated, not initialised) and each parameter is read() from model.safetensors
straight into its own memory: the peak RSS is about one model (from_pretrained
without accelerate would also hold the whole state dict, and a memory-mapped
read would count the mapped file in the RSS). Prints one JSON object.
"""

import argparse
import json
import os
import statistics
import struct
import sys
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig
from transformers.modeling_utils import no_init_weights


DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load(model_dir: str) -> torch.nn.Module:
    config = AutoConfig.from_pretrained(model_dir)
    with no_init_weights():
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    model.tie_weights()
    params = dict(model.named_parameters())  # tied parameters: listed once, under their first name
    seen = set()
    with open(os.path.join(model_dir, "model.safetensors"), "rb", buffering=0) as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            if name not in params:
                sys.exit(f"generate_torch.py: {name} in the checkpoint is not a parameter of {type(model).__name__}")
            p = params[name]
            begin, end = info["data_offsets"]
            if DTYPES.get(info["dtype"]) != torch.float32 or list(p.shape) != info["shape"]:
                sys.exit(f"generate_torch.py: {name}: {info['dtype']} {info['shape']}, want F32 {list(p.shape)}")
            f.seek(8 + n + begin)
            view = memoryview(p.detach().numpy()).cast("B")  # the parameter's own memory
            if f.readinto(view) != end - begin:
                sys.exit(f"generate_torch.py: {name}: short read")
            seen.add(name)
    missing = [n for n in params if n not in seen]
    if missing:
        sys.exit(f"generate_torch.py: not in the checkpoint: {', '.join(missing[:5])}")
    return model.eval()


def run(model, prompt: torch.Tensor, new: int):
    t_all = time.perf_counter()
    tokens = []
    past = None
    ids = prompt
    length = 0
    prefill = decode = 0.0
    for step in range(new):
        t0 = time.perf_counter()
        mask = torch.ones((1, length + ids.shape[1]), dtype=torch.long)
        out = model(input_ids=ids, attention_mask=mask, past_key_values=past, use_cache=True)
        nxt = int(out.logits[0, -1].argmax())
        past = out.past_key_values
        tokens.append(nxt)
        length += ids.shape[1]
        ids = torch.tensor([[nxt]], dtype=torch.long)
        dt = time.perf_counter() - t0
        if step == 0:
            prefill += dt
        else:
            decode += dt
    return prefill, decode, time.perf_counter() - t_all, tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--generate", action="store_true", help="also time one model.generate() and check its tokens")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)

    t0 = time.perf_counter()
    model = load(a.model_dir)
    load_s = time.perf_counter() - t0
    vocab = model.config.vocab_size
    prompt = torch.tensor([[(1000 + 37 * i) % vocab for i in range(a.prompt)]], dtype=torch.long)

    # no end-of-sequence token: exactly `new` tokens, as the manual loop
    gen_config = GenerationConfig(max_new_tokens=a.new, do_sample=False, num_beams=1, use_cache=True,
                                  eos_token_id=None, pad_token_id=0)
    with torch.inference_mode():
        run(model, prompt, min(a.new, 8))  # warm-up, untimed
        prefill, decode, total, gen = [], [], [], []
        tokens = None
        for _ in range(a.reps):
            p, d, t, got = run(model, prompt, a.new)
            if tokens is not None and got != tokens:
                sys.exit("generate_torch.py: greedy decoding is not deterministic across runs")
            tokens = got
            prefill.append(p)
            decode.append(d)
            total.append(t)
        if a.generate:
            t0 = time.perf_counter()
            seq = model.generate(prompt, attention_mask=torch.ones_like(prompt), generation_config=gen_config)
            gen.append(time.perf_counter() - t0)
            if seq[0, a.prompt:].tolist() != tokens:
                sys.exit("generate_torch.py: generate() chose other tokens than the manual loop")
    print(json.dumps({
        "runtime": "transformers", "threads": a.threads, "prompt": a.prompt, "new": a.new, "reps": a.reps,
        "torch": torch.__version__, "load_s": load_s,
        "prefill_ms": 1e3 * statistics.median(prefill),
        "decode_tok_s": (a.new - 1) / statistics.median(decode),
        "total_ms": 1e3 * statistics.median(total),
        "generate_ms": 1e3 * gen[0] if gen else None,
        "tokens": tokens,
    }))


if __name__ == "__main__":
    main()
