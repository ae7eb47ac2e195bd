// typeformer/models/bloom.hpp: BLOOM (`model_type` "bloom").
//
// Word embeddings followed by a LayerNorm (`word_embeddings_layernorm`), no
// position embeddings: attention is biased by ALiBi instead (a per-head
// slope times the key's position among the unmasked tokens, built by
// decoder_context since the config's alibi() is true). Pre-LN blocks whose
// fused `query_key_value` interleaves q, k and v per head ([B, S, H, 3, D]);
// a tanh GELU MLP (`dense_h_to_4h`, `dense_4h_to_h`); a final `ln_f`. With
// apply_residual_connection_post_layernorm the residual of each half of a
// block is its LayerNorm's output rather than its input. The LM head is tied
// to the word embeddings. The cache has BLOOM's own layout (kv_layout::bloom):
// key [B·H, D, T], value [B·H, T, D].
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// BloomConfig, with Transformers' defaults.
struct bloom_config {
    static constexpr decoder_hooks hooks{.alibi = true};
    std::int64_t vocab_size = 250880;
    std::int64_t hidden_size = 64;
    std::int64_t n_layer = 2;
    std::int64_t n_head = 8;
    double layer_norm_epsilon = 1e-5;
    bool apply_residual_connection_post_layernorm = false;
    bool tie_word_embeddings = true;
    std::int64_t pad_token_id = -1;  // None
    bool pool_before_first_pad = false;  ///< Transformers 4.41's sequence-classification pooling
    std::int64_t num_labels = 2;

    /// Transformers' other names: n_embed, when given, wins over hidden_size;
    /// the attribute_map names num_hidden_layers and num_attention_heads over
    /// n_layer and n_head.
    static void read_other_names(const config_reader& r, bloom_config& c) {
        r.get("n_embed", c.hidden_size);
        r.get("num_hidden_layers", c.n_layer);
        r.get("num_attention_heads", c.n_head);
    }
    /// pretraining_tp > 1 with slow_but_exact splits self_attention.dense and
    /// mlp.dense_4h_to_h into slices and, in Transformers 4.41, drops their
    /// biases on that path (0.12 off the plain path on a tiny model); without
    /// slow_but_exact pretraining_tp changes nothing.
    static void refuse_slow_but_exact(const config_reader& r, bloom_config&) {
        std::int64_t tp = 1;
        r.get("pretraining_tp", tp);
        if (tp > 1)
            r.require_false("slow_but_exact",
                            "with pretraining_tp > 1 Transformers' slow_but_exact path leaves out the biases of "
                            "self_attention.dense and mlp.dense_4h_to_h");
    }

    using self = bloom_config;
    using fields = field_table<decoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>,
        field<"hidden_size", &self::hidden_size, rule::positive>,
        field<"n_layer", &self::n_layer, rule::non_negative>, field<"n_head", &self::n_head, rule::positive>,
        multiple_of<"hidden_size", "n_head">, reads<&self::read_other_names>,
        field<"layer_norm_epsilon", &self::layer_norm_epsilon, rule::positive>,
        field<"apply_residual_connection_post_layernorm", &self::apply_residual_connection_post_layernorm>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, field<"pad_token_id", &self::pad_token_id>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>, reads<&self::refuse_slow_but_exact>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = hidden_size,
                .num_heads = n_head,
                .intermediate_size = 4 * hidden_size,
                .num_layers = n_layer,
                .max_positions = std::int64_t{1} << 40,  // no position table (ALiBi): no limit
                .type_vocab_size = 0,
                .act = activation::gelu_new,
                .eps = static_cast<float>(layer_norm_epsilon),
                .causal = true,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr kv_cache_shape cache() const {
        return {n_layer, n_head, hidden_size / n_head, kv_layout::bloom};
    }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    [[nodiscard]] constexpr bool alibi() const { return true; }
};

/// BloomConfig from config.json.
inline bloom_config bloom_config_from_json(const config_reader& r) { return load_config<bloom_config>(r); }

namespace bloom_names {
struct layer {
    static constexpr std::string_view stack = "transformer.h", norm_1 = "input_layernorm",
                                      norm_2 = "post_attention_layernorm";
};
struct mlp {
    static constexpr std::string_view fc_in = "mlp.dense_h_to_4h", fc_out = "mlp.dense_4h_to_h";
};
struct embeddings {
    static constexpr std::string_view word = "transformer.word_embeddings", position = "";
};
}  // namespace bloom_names

/// BLOOM's context: the causal bias and ALiBi of decoder_context, from
/// input_ids and attention_mask alone (BLOOM takes no positions).
struct bloom_context {
    using reads = slots<"input_ids", "attention_mask">;

    template <Backend B, class Io, DecoderConfig C>
    static decoder_tables<typename B::value> make(B& b, const Io& s, const C& c) {
        return decoder_context::make<B>(b, s, c);
    }
};

/// BLOOM's attention: the fused Linear `self_attention.query_key_value`
/// whose output is [B, S, H, 3, D] (q, k, v interleaved per head), scores
/// (q · k) / √D plus ALiBi, the Linear `self_attention.dense`.
struct bloom_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t, layer_cache<typename B::value>& cache) {
        const auto E = c.hidden_size, H = c.n_head, D = E / H;
        auto qkv = b.reshape(dense(b, "self_attention.query_key_value", x, E, 3 * E), {0, 0, H, 3, D});
        auto part = [&](std::int64_t i) { return b.reshape(b.select(qkv, 3, i), {0, 0, E}); };  // [B, S, H·D]
        typename B::value out;
        {
            auto guard = b.scope("self_attention");
            out = cached_attention(b, part(0), part(1), part(2), t, cache,
                                   {H, H, D, 1.f / std::sqrt(static_cast<float>(D))}, nullptr, false);
        }
        return dense(b, "self_attention.dense", out, E, E);
    }
};

/// A BLOOM layer: pre-LN attention and MLP, each added to its residual,
/// which is the LayerNorm's input or, with
/// apply_residual_connection_post_layernorm, its output.
struct bloom_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto E = c.hidden_size;
        const auto eps = static_cast<float>(c.layer_norm_epsilon);
        const bool post = c.apply_residual_connection_post_layernorm;
        auto n1 = layer_norm(b, bloom_names::layer::norm_1, x, E, eps);
        auto h = b.add(post ? n1 : x, bloom_attention::forward(b, n1, t, c, layer, cache));
        auto n2 = layer_norm(b, bloom_names::layer::norm_2, h, E, eps);
        return b.add(post ? n2 : h, plain_mlp<bloom_names::mlp>::forward(b, n2, c));
    }
};

struct bloom_family
    : family_base<"bloom", "transformer", bloom_config, &bloom_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                            task::sequence_classification, task::token_classification>> {
    static constexpr double atol = 1e-3;  // the legacy table's
    static std::vector<std::string> ignored() { return {}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task>;

    template <class Task>
    using trunk = type_list<decoder_embeddings<bloom_names::embeddings,
                                               decoder_embedding_options{.norm = "transformer.word_embeddings_layernorm"}>,
                            decoder_stack<bloom_names::layer, bloom_block, bloom_context, task::has_past<Task>>,
                            decoder_final_norm<"transformer.ln_f">>;
    using lm = decoder_lm_head<"lm_head", "transformer.word_embeddings.weight">;

    template <class Task>
    static auto layers(Task)
        -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">, token_classifier<"classifier">>;
};

/// BLOOM with a compile-time config: `struct tiny final : bloom<bloom_config{...}> {};`
template <bloom_config C, class Task = task::default_>
struct bloom : model_of<bloom_family, Task> {
    static_assert(check(C));
    static constexpr bloom_config config = C;
};

}  // namespace typeformer::inline v0
