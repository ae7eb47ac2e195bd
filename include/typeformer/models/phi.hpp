// typeformer/models/phi.hpp: Phi (`model_type` "phi": phi-1, phi-1.5, phi-2),
// on the Llama family's config and loader (models/llama.hpp).
//
// What sets it apart:
//   - parallel blocks: one `input_layernorm` (a LayerNorm with a bias,
//     layer_norm_eps) feeds attention and MLP, both added to the residual;
//   - attention with biases on q, k, v and the output `dense`; rotary
//     embeddings on the first int(head_dim · partial_rotary_factor)
//     features of each head (0.5 by default), the rest passed through;
//     grouped-query heads when num_key_value_heads says; `qk_layernorm`
//     true is refused;
//   - the MLP `fc1`, `hidden_act` (the tanh GELU by default), `fc2`, with
//     biases;
//   - `model.final_layernorm` (a LayerNorm); the LM head has a bias.
// The sequence classifier's pooling follows the Transformers release the
// export follows (5.x by default; 4.41: the token before the first pad).
#pragma once

#include <string_view>
#include <vector>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// PhiConfig: LlamaConfig's fields, LayerNorms.
struct phi_config : llama_config {
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    using base_config = llama_config;
    using fields = llama_config::fields;
};

/// The keys PhiConfig reads its own way: layer_norm_eps (the LayerNorms'
/// eps), the activation, the RoPE scaling as Llama's; the q/k LayerNorms
/// are refused, and so is a token classifier without a bias (5.x's
/// GenericForTokenClassification reads token_classification_bias).
using phi_keys = extend<phi_config::fields, field<"layer_norm_eps", &llama_config::rms_norm_eps, rule::positive>,
                        field<"hidden_act", &llama_config::hidden_act>, reads<&detail::llama_rope_scaling>,
                        never<"qk_layernorm", "LayerNorms on q and k (phi-1.5 and phi-2 have none)">,
                        always<"token_classification_bias", "a token-classification score without a bias">>;

/// PhiConfig from config.json, with Phi's defaults; q, k, v and dense have biases.
inline phi_config phi_config_from_json(const config_reader& r) {
    phi_config c;
    c.vocab_size = 51200;
    c.hidden_size = 2048;
    c.intermediate_size = 8192;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 32;
    c.hidden_act = activation::gelu_new;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.partial_rotary_factor = 0.5;
    c.attention_bias = true;
    return load_config<phi_config, phi_keys>(r, c);
}

/// Module names of Phi's layer.
namespace phi_names {
struct layer {
    static constexpr std::string_view stack = "model.layers", norm_1 = "input_layernorm", q = "self_attn.q_proj",
                                      k = "self_attn.k_proj", v = "self_attn.v_proj", o = "self_attn.dense",
                                      attention = "self_attn", fc_in = "mlp.fc1", fc_out = "mlp.fc2";
};
}  // namespace phi_names

/// Phi's features: the model and the causal LM, each with and without past,
/// sequence and token classification. The token classifier is Transformers
/// 5's `score` (with a bias); 4.41 named it `classifier`, and 5.x does not
/// rename an older checkpoint's, so such a checkpoint is refused by the
/// parameter check (missing score.*, unexpected classifier.*).
using phi_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                               task::sequence_classification, task::token_classification>;

struct phi_family : family_base<"phi", "model", phi_config, &phi_config_from_json, phi_features> {
    using config = phi_config;
    /// The rotary inv_freq buffer older checkpoints carry.
    static std::vector<std::string> ignored() { return {"rotary_emb.inv_freq"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, llama_takes_positions<Task>>;

    using block = decoder_block<phi_names::layer, projected_attention<phi_names::layer>, plain_mlp<phi_names::layer>,
                                true>;
    template <class Task>
    using trunk = concat<std::conditional_t<llama_takes_positions<Task>, type_list<>, type_list<decoder_positions>>,
                         type_list<decoder_embeddings<llama_names::embeddings>,
                                   decoder_stack<phi_names::layer, block, decoder_context, task::has_past<Task>>,
                                   decoder_final_norm<"model.final_layernorm">>>;
    using lm = decoder_lm_head<"lm_head", "model.embed_tokens.weight", true>;

    template <class Task>
    static auto layers(Task)
        -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">, token_classifier<"score">>;
};

}  // namespace typeformer::inline v0
