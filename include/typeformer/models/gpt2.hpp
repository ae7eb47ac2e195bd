// typeformer/models/gpt2.hpp: GPT-2 (`model_type` "gpt2").
//
// Learned word and position embeddings; pre-LN blocks whose projections are
// Conv1D (weights stored [in, out]) with one fused `c_attn` for q, k and v;
// a tanh GELU (`gelu_new`); a final `ln_f`. The LM head is tied to `wte`.
// Positions count on from the past (the legacy exporter gives no
// position_ids input).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// GPT2Config, with Transformers' defaults.
struct gpt2_config {
    static constexpr decoder_hooks hooks{.masks = true};
    std::int64_t vocab_size = 50257;
    std::int64_t n_positions = 1024;
    std::int64_t n_embd = 768;
    std::int64_t n_layer = 12;
    std::int64_t n_head = 12;
    std::int64_t n_inner = 0;  // None: 4 · n_embd
    activation activation_function = activation::gelu_new;
    double layer_norm_epsilon = 1e-5;
    bool scale_attn_weights = true;
    bool scale_attn_by_inverse_layer_idx = false;
    bool tie_word_embeddings = true;
    std::int64_t pad_token_id = -1;  // None
    std::int64_t num_labels = 2;

    [[nodiscard]] constexpr std::int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {vocab_size, n_embd, n_head, inner(), n_layer, n_positions, 0, activation_function,
                static_cast<float>(layer_norm_epsilon), true, num_labels};
    }
    [[nodiscard]] constexpr kv_cache_shape cache() const { return {n_layer, n_head, n_embd / n_head}; }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    /// How GPT2Attention adds its masks (decoder.hpp, mask_sum).
    [[nodiscard]] constexpr mask_sum masks() const { return mask_sum::causal_plus_padding; }
};

constexpr bool check(const gpt2_config& c) {
    require(c.vocab_size > 0, "vocab_size must be positive");
    require(c.n_positions > 0, "n_positions must be positive");
    require(c.n_embd > 0, "n_embd must be positive");
    require(c.n_layer >= 0, "n_layer must not be negative");
    require(c.n_head > 0, "n_head must be positive");
    require(c.n_embd % c.n_head == 0, "n_embd must be divisible by n_head");
    require(c.n_inner >= 0, "n_inner must not be negative");
    require(c.layer_norm_epsilon > 0, "layer_norm_epsilon must be positive");
    require(c.num_labels > 0, "num_labels must be positive");
    return true;
}

inline gpt2_config gpt2_config_from_json(const config_reader& r) {
    gpt2_config c;
    r.get("vocab_size", c.vocab_size);
    r.get("n_positions", c.n_positions);
    r.get("n_embd", c.n_embd);
    r.get("n_layer", c.n_layer);
    r.get("n_head", c.n_head);
    r.get("n_inner", c.n_inner);
    r.get("activation_function", c.activation_function);
    r.get("layer_norm_epsilon", c.layer_norm_epsilon);
    r.get("scale_attn_weights", c.scale_attn_weights);
    r.get("scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx);
    r.get("tie_word_embeddings", c.tie_word_embeddings);
    r.get("pad_token_id", c.pad_token_id);
    r.get_num_labels(c.num_labels);
    r.require_false("add_cross_attention", "cross-attention needs an encoder; export the encoder-decoder model");
    check_loaded(c, r.where());
    return c;
}

namespace gpt2_names {
struct layer {
    static constexpr std::string_view stack = "transformer.h", norm_1 = "ln_1", norm_2 = "ln_2";
};
}  // namespace gpt2_names

/// GPT-2's attention: the fused Conv1D `attn.c_attn` split into q, k, v;
/// scores scaled by 1/√head_dim (scale_attn_weights) and by 1/(layer + 1)
/// (scale_attn_by_inverse_layer_idx); the Conv1D `attn.c_proj`.
struct gpt2_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto E = c.n_embd, H = c.n_head, D = E / H;
        auto qkv = conv1d_linear(b, "attn.c_attn", x, E, 3 * E);
        float scale = c.scale_attn_weights ? 1.f / std::sqrt(static_cast<float>(D)) : 1.f;
        if (c.scale_attn_by_inverse_layer_idx) scale /= static_cast<float>(layer + 1);
        typename B::value out;
        {
            auto guard = b.scope("attn");
            out = cached_attention(b, b.slice(qkv, -1, 0, E), b.slice(qkv, -1, E, 2 * E), b.slice(qkv, -1, 2 * E, 3 * E),
                                   t, cache, {H, H, D, scale}, nullptr, false);
        }
        return conv1d_linear(b, "attn.c_proj", out, E, E);
    }
};

/// GPT-2's MLP: Conv1D `mlp.c_fc`, the activation, Conv1D `mlp.c_proj`.
struct gpt2_mlp {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        const auto sh = c.shape();
        auto h = activate(b, sh.act, conv1d_linear(b, "mlp.c_fc", x, sh.hidden_size, sh.intermediate_size));
        return conv1d_linear(b, "mlp.c_proj", h, sh.intermediate_size, sh.hidden_size);
    }
};

struct gpt2_family {
    static constexpr std::string_view model_type = "gpt2";
    static constexpr std::string_view base_prefix = "transformer";
    static constexpr double atol = 1e-5;  // the legacy table's
    using config = gpt2_config;
    using features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                               task::sequence_classification, task::token_classification>;

    static config load(const config_reader& r) { return gpt2_config_from_json(r); }
    /// The causal-mask buffers older checkpoints carry.
    static std::vector<std::string> ignored() { return {"attn.bias", "attn.masked_bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task>;

    struct embedding_names {
        static constexpr std::string_view word = "transformer.wte", position = "transformer.wpe";
    };
    using block = decoder_block<gpt2_names::layer, gpt2_attention, gpt2_mlp>;
    template <class Task>
    using trunk = type_list<decoder_positions, decoder_embeddings<embedding_names>,
                            decoder_stack<gpt2_names::layer, block, decoder_context, task::has_past<Task>>,
                            decoder_final_norm<"transformer.ln_f">>;
    using lm = decoder_lm_head<"lm_head", "transformer.wte.weight">;

    template <class Task>
    static auto layers(Task)
        -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">, token_classifier<"classifier">>;
};

/// GPT-2 with a compile-time config: `struct tiny final : gpt2<gpt2_config{...}> {};`
template <gpt2_config C, class Task = task::default_>
struct gpt2 : model_of<gpt2_family, Task> {
    static_assert(check(C));
    static constexpr gpt2_config config = C;
};

}  // namespace typeformer::inline v0
