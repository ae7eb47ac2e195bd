"""A 7B Llama-shaped checkpoint with random weights, made shard by shard.

    .venv-fixtures5/bin/python bench/make_llama7b.py OUT_DIR [--layers 32] [--shard-gb 5]

The shape is Mistral-7B's, as model_type "llama": hidden 4096, 32 layers, 32
query heads, 8 key/value heads (grouped-query), intermediate 14336, vocab
32000, untied LM head, rope_theta 10000: 7,241,732,096 parameters. The
weights are bfloat16, normal(0, 0.02) from a fixed seed (norm weights 1), in
Transformers' names and order, in safetensors shards of at most --shard-gb GB
(model-0000k-of-0000n.safetensors plus model.safetensors.index.json), as
save_pretrained writes them: about 14.5 GB in all.

The model is never built: the tensor names and shapes come from
LlamaForCausalLM on the meta device, and each shard's tensors are made, written
and freed before the next, so the peak memory is one shard (5 GB) plus one
tensor in float32. The folder is written as OUT_DIR.tmp and renamed into place;
an existing OUT_DIR with a config.json is kept.
"""

import argparse
import json
import os
import shutil
import time

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM


def config(layers: int) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=layers,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=32768,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--shard-gb", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=7007)
    args = ap.parse_args()
    final = args.out.rstrip("/")
    if os.path.exists(os.path.join(final, "config.json")):
        print(f"{final}: present, kept")
        return
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    cfg = config(args.layers)
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    specs = [(n, tuple(p.shape)) for n, p in model.state_dict().items()]
    del model

    limit = int(args.shard_gb * 1e9)
    shards, cur, size = [], [], 0
    for name, shape in specs:
        nbytes = 2 * int(torch.Size(shape).numel())
        if cur and size + nbytes > limit:
            shards.append(cur)
            cur, size = [], 0
        cur.append((name, shape))
        size += nbytes
    shards.append(cur)

    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    weight_map, total, params = {}, 0, 0
    for k, shard in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        tensors = {}
        for name, shape in shard:
            if "norm" in name:
                t = torch.ones(shape, dtype=torch.bfloat16)
            else:
                t = torch.empty(shape, dtype=torch.float32).normal_(0.0, 0.02, generator=gen).to(torch.bfloat16)
            tensors[name] = t
            weight_map[name] = fname
            total += 2 * t.numel()
            params += t.numel()
        save_file(tensors, os.path.join(tmp, fname), metadata={"format": "pt"})
        del tensors
        print(f"{fname}: {len(shard)} tensors, {time.time() - t0:.1f} s", flush=True)
    with open(os.path.join(tmp, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    cfg.dtype = torch.bfloat16
    cfg.save_pretrained(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    print(f"{final}: {params:,} parameters, {total / 1e9:.2f} GB of bf16 in {len(shards)} shards, "
          f"{time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
