// typeformer/models/gptj.hpp: GPT-J (`model_type` "gptj").
//
// Word embeddings only (no learned positions): rotary position embeddings on
// the first `rotary_dim` features of every head of q and k, in interleaved
// pairs (Transformers' rotate_every_two), θ = 10000. Each block is
// *parallel*: one LayerNorm `ln_1` feeds both the attention and the MLP, and
// both are added to the residual. q, k, v and out projections have no bias;
// scores are scaled by 1/√head_dim; the MLP is fc_in, the activation, fc_out
// (both with biases). A final `ln_f`; the LM head has a bias and is not tied
// to `wte` unless the config says tie_word_embeddings. The model and the
// causal LM (with and without past) take position_ids, as Optimum gives
// them, for the rotary tables; the classifiers count positions on from the
// past.
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

/// GPTJConfig, with Transformers' defaults.
struct gptj_config {
    static constexpr decoder_hooks hooks{.rotary = true, .masks = true, .attention_scale = true};
    std::int64_t vocab_size = 50400;
    std::int64_t n_positions = 2048;
    std::int64_t n_embd = 4096;
    std::int64_t n_layer = 28;
    std::int64_t n_head = 16;
    /// Rotated features per head; -1: None, which Transformers only
    /// supports with one head (then the whole head turns).
    std::int64_t rotary_dim = 64;
    std::int64_t n_inner = 0;  // None: 4 · n_embd
    activation activation_function = activation::gelu_new;
    double layer_norm_epsilon = 1e-5;
    bool tie_word_embeddings = false;
    std::int64_t pad_token_id = -1;  // None
    bool pool_before_first_pad = false;  ///< Transformers 4.41's sequence-classification pooling
    std::int64_t num_labels = 2;

    static constexpr void rotary_rules(const gptj_config& c) {
        require(c.rotary_dim == -1 ||
                    (c.rotary_dim > 0 && c.rotary_dim <= c.n_embd / c.n_head && c.rotary_dim % 2 == 0),
                "rotary_dim must be null, or positive, even and at most the head size (n_embd / n_head)");
        require(c.rotary_dim != -1 || c.n_head == 1,
                "rotary_dim null (rotating the whole hidden width) is only defined with one head");
    }

    using self = gptj_config;
    using fields = field_table<decoder_generic_keys,
        // 5.x's generic cache code: a window, chunks or shared layers would change what the cache keeps
        absent<"sliding_window", "a sliding-window cache">,
        field<"vocab_size", &self::vocab_size, rule::positive>,
        field<"n_positions", &self::n_positions, rule::positive>, field<"n_embd", &self::n_embd, rule::positive>,
        field<"n_layer", &self::n_layer, rule::non_negative>, field<"n_head", &self::n_head, rule::positive>,
        multiple_of<"n_embd", "n_head">, field<"rotary_dim", &self::rotary_dim, rule::any, read::null_is<-1>>,
        rules<&self::rotary_rules>, field<"n_inner", &self::n_inner, rule::positive_or<0>>,
        field<"activation_function", &self::activation_function>,
        field<"layer_norm_epsilon", &self::layer_norm_epsilon, rule::positive>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, field<"pad_token_id", &self::pad_token_id>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>>;

    [[nodiscard]] constexpr std::int64_t head_dim() const { return n_embd / n_head; }
    [[nodiscard]] constexpr std::int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
    [[nodiscard]] constexpr encoder_shape shape() const { return gpt2_like_shape(*this); }
    [[nodiscard]] constexpr kv_cache_shape cache() const { return {n_layer, n_head, head_dim()}; }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    /// How GPTJAttention adds its masks: it scales the scores after the causal
    /// mask (decoder.hpp, mask_sum; CodeGen scales before, codegen_config).
    [[nodiscard]] constexpr mask_sum masks() const { return mask_sum::scaled_causal_plus_padding; }
    // what projected_attention asks of the config
    [[nodiscard]] constexpr bool qkv_bias() const { return false; }
    [[nodiscard]] constexpr bool o_bias() const { return false; }
    [[nodiscard]] rotary_spec rotary() const {
        return {.dims = rotary_dim > 0 ? rotary_dim : head_dim(), .base = 10000.0, .interleaved = true};
    }
    [[nodiscard]] float attention_scale() const { return 1.f / std::sqrt(static_cast<float>(head_dim())); }
};

/// GPTJConfig from config.json.
inline gptj_config gptj_config_from_json(const config_reader& r) { return load_config<gptj_config>(r); }

namespace gptj_names {
/// The parallel block's one norm (no ln_2).
struct layer {
    static constexpr std::string_view stack = "transformer.h", norm_1 = "ln_1";
};
struct self_attention {
    static constexpr std::string_view q = "attn.q_proj", k = "attn.k_proj", v = "attn.v_proj", o = "attn.out_proj",
                                      attention = "attn";
};
struct mlp {
    static constexpr std::string_view fc_in = "mlp.fc_in", fc_out = "mlp.fc_out";
};
struct embeddings {
    static constexpr std::string_view word = "transformer.wte", position = "";
};
}  // namespace gptj_names

/// The trunk and heads GPT-J and CodeGen share: `Attention` differs (GPT-J's
/// separate q/k/v, CodeGen's sharded fused qkv_proj).
template <class Attention>
struct gptj_like {
    using block = decoder_block<gptj_names::layer, Attention, plain_mlp<gptj_names::mlp>, true>;
    template <class Task>
    using trunk = concat<decoder_positions_unless<task::generation_position_ids<Task>>,
                         type_list<decoder_embeddings<gptj_names::embeddings>,
                                   decoder_stack<gptj_names::layer, block, decoder_context, task::has_past<Task>>,
                                   decoder_final_norm<"transformer.ln_f">>>;
    using lm = decoder_lm_head<"lm_head", "transformer.wte.weight", true>;
};

struct gptj_family
    : family_base<"gptj", "transformer", gptj_config, &gptj_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                            task::question_answering, task::sequence_classification>> {
    /// The causal-mask buffers older checkpoints carry.
    static std::vector<std::string> ignored() { return {"attn.bias", "attn.masked_bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, task::generation_position_ids<Task>>;

    using parts = gptj_like<projected_attention<gptj_names::self_attention>>;
    template <class Task>
    static auto layers(Task) -> decoder_layers<parts::template trunk, Task, parts::lm, last_token_classifier<"score">,
                                               void, span_classifier<"qa_outputs">>;
};

/// GPT-J with a compile-time config: `struct tiny final : gptj<gptj_config{...}> {};`
template <gptj_config C, class Task = task::default_>
struct gptj : model_of<gptj_family, Task> {
    static_assert(check(C));
    static constexpr gptj_config config = C;
};

}  // namespace typeformer::inline v0
