// typeformer/models/gpt2.hpp: GPT-2 (`model_type` "gpt2").
//
// Learned word and position embeddings; pre-LN blocks whose projections are
// Conv1D (weights stored [in, out]) with one fused `c_attn` for q, k and v;
// a tanh GELU (`gelu_new`); a final `ln_f`. The LM head is tied to `wte`.
// The model and the causal LM (with and without past) take position_ids,
// as Optimum gives them; the classifiers count positions on from the past.
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
    bool pool_before_first_pad = false;  ///< Transformers 4.41's sequence-classification pooling
    std::int64_t num_labels = 2;

    using self = gpt2_config;
    using fields = field_table<decoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>,
        field<"n_positions", &self::n_positions, rule::positive>, field<"n_embd", &self::n_embd, rule::positive>,
        field<"n_layer", &self::n_layer, rule::non_negative>, field<"n_head", &self::n_head, rule::positive>,
        multiple_of<"n_embd", "n_head">, field<"n_inner", &self::n_inner, rule::positive_or<0>>,
        field<"activation_function", &self::activation_function>,
        field<"layer_norm_epsilon", &self::layer_norm_epsilon, rule::positive>,
        field<"scale_attn_weights", &self::scale_attn_weights>,
        field<"scale_attn_by_inverse_layer_idx", &self::scale_attn_by_inverse_layer_idx>,
        // the same scores computed in float32 with the scale folded in (which the export computes in float32)
        no_effect<"reorder_and_upcast_attn", bool>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, field<"pad_token_id", &self::pad_token_id>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>,
        never<"add_cross_attention", "cross-attention needs an encoder; export the encoder-decoder model">>;

    [[nodiscard]] constexpr std::int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
    [[nodiscard]] constexpr encoder_shape shape() const { return gpt2_like_shape(*this); }
    [[nodiscard]] constexpr kv_cache_shape cache() const { return {n_layer, n_head, n_embd / n_head}; }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    /// How GPT2Attention adds its masks (decoder.hpp, mask_sum).
    [[nodiscard]] constexpr mask_sum masks() const { return mask_sum::causal_plus_padding; }
};

/// GPT2Config from config.json.
inline gpt2_config gpt2_config_from_json(const config_reader& r) { return load_config<gpt2_config>(r); }

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

struct gpt2_family
    : family_base<"gpt2", "transformer", gpt2_config, &gpt2_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                            task::sequence_classification, task::token_classification>> {
    /// The causal-mask buffers older checkpoints carry.
    static std::vector<std::string> ignored() { return {"attn.bias", "attn.masked_bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, task::generation_position_ids<Task>>;

    struct embedding_names {
        static constexpr std::string_view word = "transformer.wte", position = "transformer.wpe";
    };
    using block = decoder_block<gpt2_names::layer, gpt2_attention, gpt2_mlp>;
    template <class Task>
    using trunk = concat<decoder_positions_unless<task::generation_position_ids<Task>>,
                         type_list<decoder_embeddings<embedding_names>,
                                   decoder_stack<gpt2_names::layer, block, decoder_context, task::has_past<Task>>,
                                   decoder_final_norm<"transformer.ln_f">>>;
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
