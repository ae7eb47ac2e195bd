"""Random-weight decoder checkpoints for bench/decoders.sh (Transformers layout,
safetensors), made only when absent.

    .venv-fixtures/bin/python bench/make_decoder_checkpoints.py OUT_DIR [gpt2-small] [llama-1b]

gpt2-small  GPT2LMHeadModel(GPT2Config()): the defaults, 124,439,808 parameters
            (lm_head tied to wte, so stored once), 498 MB of f32.
llama-1b    LlamaForCausalLM with TinyLlama-1.1B's shape (hidden 2048, 22 layers,
            32 heads, 4 KV heads, intermediate 5632, vocab 32000, untied head):
            1,100,048,384 parameters, 4.4 GB of f32, one safetensors file.

Weights: normal(0, 0.02) from a fixed seed per model, norm weights 1, biases 0
(Transformers' init for both families, less GPT-2's scaled residual
projections; done here parameter by parameter).
Memory: the model is built with Transformers' no_init_weights (the parameters
are allocated once, uninitialised, and filled in place), and safetensors 0.8
writes from the tensors' memory without a copy, so the peak is about one model
(4.4 GB for llama-1b). Each model is written to OUT_DIR/NAME.tmp and renamed
into place, so an interrupted run leaves no half checkpoint behind.
"""

import os
import shutil
import sys
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
from transformers.modeling_utils import no_init_weights


def llama_1b_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=32000,
        hidden_size=2048,
        intermediate_size=5632,
        num_hidden_layers=22,
        num_attention_heads=32,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
    )


MODELS = {
    "gpt2-small": (GPT2LMHeadModel, GPT2Config, 1101),
    "llama-1b": (LlamaForCausalLM, llama_1b_config, 1102),
}


def fill(model: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters are listed once
            if name.endswith(".bias"):
                p.zero_()
            elif "norm" in name or ".ln_" in name:  # LayerNorm / RMSNorm weights
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02, generator=gen)


def make(out: str, name: str) -> None:
    final = os.path.join(out, name)
    if os.path.exists(os.path.join(final, "config.json")):
        print(f"{final}: present, kept")
        return
    cls, config_fn, seed = MODELS[name]
    t0 = time.time()
    with no_init_weights():
        model = cls(config_fn())
    model.tie_weights()  # no_init_weights skips it (GPT-2's lm_head is wte)
    fill(model, seed)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    # one file: max_shard_size above the model's size
    model.save_pretrained(tmp, safe_serialization=True, max_shard_size="20GB")
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    print(f"{final}: {params:,} parameters, written in {time.time() - t0:.1f} s")


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    for name in names:
        if name not in MODELS:
            sys.exit(f"unknown model {name!r}; known: {', '.join(MODELS)}")
        make(out, name)


if __name__ == "__main__":
    main()
