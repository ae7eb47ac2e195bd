// typeformer/models/gemma.hpp: Gemma (`model_type` "gemma"), a member of the
// Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it:
//   - the word embeddings are multiplied by sqrt(hidden_size) rounded to
//     float32 (torch.tensor(hidden_size ** 0.5, dtype=float32));
//   - RMSNorm scales by (1 + weight), in float32;
//   - the head size is the config's head_dim, which need not be
//     hidden_size / num_attention_heads (q, k, v project to heads · head_dim,
//     o back from it; scores scaled by 1/sqrt(head_dim));
//   - the gated MLP's activation is `hidden_act`, "gelu" read as the tanh
//     GELU; 4.41 (follow_transformers::v4_41) reads `hidden_activation`
//     instead, gelu_pytorch_tanh (the tanh GELU) when that is null,
//     whatever `hidden_act` says (detail::gemma_activation);
//   - `attention_bias` puts biases on q, k, v and o; the LM head is tied to
//     the embeddings by default.
// Gemma has no sliding window; a RoPE scaling is read as Llama's (4.41
// ignored one; later versions apply it, as the export does).
#pragma once

#include <cstdint>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// GemmaConfig: LlamaConfig's fields with Gemma's defaults, head_dim read,
/// the norm (1 + weight).
struct gemma_config : llama_config {
    gemma_config() {
        vocab_size = 256000;
        hidden_size = 3072;
        intermediate_size = 24576;
        num_hidden_layers = 28;
        num_attention_heads = 16;
        num_key_value_heads = 16;
        head_dim = 256;
        hidden_act = activation::gelu_new;  // gelu_pytorch_tanh
        max_position_embeddings = 8192;
        rms_norm_eps = 1e-6;
        tie_word_embeddings = true;
        pad_token_id = 0;
    }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::rms_plus_one; }

    using fields = extend<llama_config::fields, multiple_of<"hidden_size", "num_attention_heads">>;
};

namespace detail {
/// The MLP's activation, as the followed Transformers reads it: 5.x takes
/// hidden_act (rewriting "gelu" to the tanh GELU, as 4.x's null did) and
/// ignores hidden_activation; 4.41 takes hidden_activation (null: the tanh
/// GELU) and ignores hidden_act.
inline void gemma_activation(const config_reader& r, gemma_config& c) {
    activation other = activation::gelu_new;
    if (r.follows() == follow_transformers::v5) {
        std::string name = "gelu_pytorch_tanh";
        r.get("hidden_act", name);
        if (name == "gelu") c.hidden_act = activation::gelu_new;
        else r.get("hidden_act", c.hidden_act);
        r.get("hidden_activation", other);  // 5.x does not read it: its type only
    } else {
        c.hidden_act = activation::gelu_new;
        r.get("hidden_activation", c.hidden_act);
        r.get("hidden_act", other);  // 4.x's model does not read it: its type only
    }
}
}  // namespace detail

/// The keys GemmaConfig reads its own way: the activation (hidden_act, or
/// hidden_activation as 4.41 reads it), attention_bias;
/// the RoPE scaling as Llama reads it (Transformers 4.41's Gemma ignored
/// one; later versions apply it, and the export follows them).
using gemma_keys = extend<gemma_config::fields, reads<&detail::gemma_activation>,
                          field<"attention_bias", &llama_config::attention_bias>,
                          never<"use_bidirectional_attention", "a bidirectional mask in a causal model">,
                          reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>>;

/// GemmaConfig from config.json.
inline gemma_config gemma_config_from_json(const config_reader& r) { return load_config<gemma_config, gemma_keys>(r); }

/// Gemma's features: the model with and without past, the causal LM with and
/// without past, and sequence classification (positions counted from the
/// past, as GemmaForSequenceClassification passes none).
using gemma_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                                 task::sequence_classification>;

using gemma_family =
    llama_like_family<"gemma", gemma_config, &gemma_config_from_json,
                      decoder_block<llama_names::layer, projected_attention<llama_names::layer>,
                                    gated_mlp<llama_names::layer>>,
                      decoder_embedding_options{.scale_by_sqrt_hidden = true}, gemma_features>;

}  // namespace typeformer::inline v0
