// typeformer/models/stablelm.hpp: StableLM (`model_type` "stablelm": StableLM 2,
// StableLM-3B-4E1T), a member of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers computes it (4.41 and 5.x alike,
// but for the sequence classifier's pooling, which follows the release the
// export follows):
//   - LayerNorms (with biases, layer_norm_eps), also the final `model.norm`;
//   - rotary embeddings on the first int(head_dim · partial_rotary_factor)
//     features of each head (0.25 by default);
//   - `use_qkv_bias` puts biases on q, k and v (none on o);
//   - `use_parallel_residual`: y = (x + Attn(n)) + MLP(n) with n =
//     input_layernorm(x), and no post_attention_layernorm; otherwise
//     Llama's sequential block;
//   - `qk_layernorm` true (StableLM 2 12B's per-head LayerNorms) is refused;
//   - token classification is `score` (Transformers 5; 4.41 has none).
#pragma once

#include <string_view>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// StableLmConfig: LlamaConfig's fields, LayerNorms, the residual's form.
struct stablelm_config : llama_config {
    bool use_parallel_residual = false;
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }

    using base_config = llama_config;
    using self = stablelm_config;
    using fields = extend<llama_config::fields, field<"use_parallel_residual", &self::use_parallel_residual>>;
};

/// The keys StableLmConfig reads its own way.
using stablelm_keys =
    extend<stablelm_config::fields, field<"layer_norm_eps", &llama_config::rms_norm_eps, rule::positive>,
           field<"hidden_act", &llama_config::hidden_act>, field<"use_qkv_bias", &llama_config::qkv_bias_only>,
           reads<&detail::head_dim_is_hidden_over_heads>, reads<&detail::llama_rope_scaling>,
           never<"qk_layernorm", "per-head LayerNorms on q and k">,
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// StableLmConfig from config.json, with StableLM's defaults.
inline stablelm_config stablelm_config_from_json(const config_reader& r) {
    stablelm_config c;
    c.vocab_size = 50304;
    c.intermediate_size = 6912;
    c.hidden_size = 2560;
    c.num_hidden_layers = 32;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 32;
    c.max_position_embeddings = 4096;
    c.rms_norm_eps = 1e-5;
    c.partial_rotary_factor = 0.25;
    return load_config<stablelm_config, stablelm_keys>(r, c);
}

/// StableLM's layer: the parallel residual (one norm, x + Attn(n) + MLP(n)),
/// or Llama's sequential block, as the config says.
template <class Names, class Attention, class Mlp>
struct stablelm_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        if (!c.use_parallel_residual) return decoder_block<Names, Attention, Mlp>::forward(b, x, t, c, layer, cache);
        const auto sh = c.shape();
        auto n = norm(b, c.norm(), Names::norm_1, x, sh.hidden_size, sh.eps);
        auto h = b.add(x, Attention::forward(b, n, t, c, layer, cache));
        return b.add(h, Mlp::forward(b, n, c));
    }
};

/// StableLM's features: the Llama family's and token classification.
using stablelm_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                    task::causal_lm_with_past, task::sequence_classification,
                                    task::token_classification>;

using stablelm_family =
    llama_like_family<"stablelm", stablelm_config, &stablelm_config_from_json,
                      stablelm_block<llama_names::layer, projected_attention<llama_names::layer>,
                                     gated_mlp<llama_names::layer>>,
                      decoder_embedding_options{}, stablelm_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
