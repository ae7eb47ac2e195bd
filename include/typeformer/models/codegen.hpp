// typeformer/models/codegen.hpp: CodeGen (`model_type` "codegen").
//
// GPT-J's model (word embeddings, interleaved partial rotary, parallel
// blocks, an LM head with a bias; see gptj.hpp) with one difference: q, k
// and v come from one fused `attn.qkv_proj` (no bias) laid out as the
// mp_num = 4 shards of the original model-parallel training, each shard
// holding its heads' query, VALUE and key, in that order (codegen_attention).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/gptj.hpp"

namespace typeformer::inline v0 {

/// The shards the fused qkv_proj is stored in (Transformers' mp_num, fixed).
inline constexpr std::int64_t codegen_shards = 4;

/// CodeGenConfig, with Transformers' defaults: GPT-J's fields and defaults,
/// plus n_ctx, which the model does not use.
struct codegen_config : gptj_config {
    static constexpr void shard_rule(const codegen_config& c) {
        require(c.n_head % codegen_shards == 0, "n_head must be divisible by 4 (the qkv_proj shards, mp_num)");
    }

    using base_config = gptj_config;
    using self = codegen_config;
    using fields = extend<gptj_config::fields,
                          // only sets CodeGenModel.rotary_dim, which forward never reads (attention reads the config's)
                          no_effect<"n_ctx", std::int64_t>, rules<&self::shard_rule>>;

    /// CodeGenAttention scales the scores before the causal mask, unlike GPT-J.
    [[nodiscard]] constexpr mask_sum masks() const { return mask_sum::causal_plus_padding; }
};

/// CodeGenConfig from config.json.
inline codegen_config codegen_config_from_json(const config_reader& r) { return load_config<codegen_config>(r); }

/// CodeGen's attention: `attn.qkv_proj` [3·E] viewed as [4 shards, 3, E/4],
/// part 0 of every shard the queries, part 1 the values, part 2 the keys
/// (the heads of shard s are s·H/4 ... (s+1)·H/4 - 1); then GPT-J's core:
/// interleaved rotary, scale 1/√head_dim, `attn.out_proj` without bias.
struct codegen_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t, layer_cache<typename B::value>& cache) {
        const std::int64_t E = c.n_embd, H = c.n_head, D = c.head_dim();
        auto qkv = linear_no_bias(b, "attn.qkv_proj", x, E, 3 * E);
        const rotary_spec r = c.rotary();
        typename B::value out;
        {
            auto guard = b.scope("attn");
            auto shards = b.reshape(qkv, {0, 0, codegen_shards, 3, E / codegen_shards});  // [B, S, 4, 3, E/4]
            auto part = [&](std::int64_t i) { return b.reshape(b.select(shards, -2, i), {0, 0, E}); };
            auto q = part(0), v = part(1), k = part(2);
            out = cached_attention(b, q, k, v, t, cache, {H, H, D, c.attention_scale()}, &r, false);
        }
        return linear_no_bias(b, "attn.out_proj", out, E, E);
    }
};

struct codegen_family
    : family_base<"codegen", "transformer", codegen_config, &codegen_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past>> {
    /// The causal-mask buffers older checkpoints carry.
    static std::vector<std::string> ignored() { return {"attn.causal_mask", "attn.masked_bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, task::generation_position_ids<Task>>;

    using parts = gptj_like<codegen_attention>;
    template <class Task>
    static auto layers(Task) -> decoder_layers<parts::template trunk, Task, parts::lm>;
};

/// CodeGen with a compile-time config: `struct tiny final : codegen<codegen_config{...}> {};`
template <codegen_config C, class Task = task::default_>
struct codegen : model_of<codegen_family, Task> {
    static_assert(check(C));
    static constexpr codegen_config config = C;
};

}  // namespace typeformer::inline v0
