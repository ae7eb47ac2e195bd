// typeformer/models/bigbird_pegasus.hpp: BigBird-Pegasus (`model_type`
// "bigbird_pegasus").
//
// A Pegasus-like encoder-decoder on the BART-style template
// (layers/seq2seq.hpp): LayerNorm before each sublayer and a final one per
// stack (named `layernorm_embedding`, though it comes last), learned
// positions with no offset, no embedding LayerNorm, embeddings times
// √d_model with scale_embedding, final_logits_bias; the attention's q, k, v
// and output projections have biases where use_bias (fc1/fc2 always do).
//
// The decoder is the template's. The encoder's self-attention is BigBird's
// (`self_attn.self.{query,key,value}`, `self_attn.output`): with
// attention_type "block_sparse" Transformers runs full attention up to
// (5 + 2·num_random_blocks)·block_size tokens and block-sparse attention
// beyond (padding to a block multiple with pad tokens it masks and cuts
// off); the graph computes both as dense attention under the visibility
// bias block_sparse_context_of (models/big_bird.hpp) chooses at run time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/seq2seq.hpp"
#include "typeformer/models/bart.hpp"
#include "typeformer/models/big_bird.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {


/// BigBirdPegasusConfig: BartConfig's keys, BigBird's attention keys.
struct bigbird_pegasus_config : bart_config {
    bool block_sparse = true;  // attention_type "block_sparse" (else "original_full")
    std::int64_t block_size = 64;
    std::int64_t num_random_blocks = 3;
    bool use_bias = false;
    /// The encoder's attention is bidirectional (block_sparse_context_of reads it).
    bool is_decoder = false;

    using base_config = bart_config;
    using self = bigbird_pegasus_config;
    using fields =
        extend<bart_config::fields, internal<&self::block_sparse>, field<"block_size", &self::block_size, rule::positive>,
               field<"num_random_blocks", &self::num_random_blocks, rule::non_negative>,
               field<"use_bias", &self::use_bias>, internal<&self::is_decoder>,
               // PretrainedConfig's: no module of BigBird-Pegasus reads it to mask or to add cross-attention
               no_effect<"is_decoder", bool>,
               reads<&read_block_sparse_attention_type<self>>>;

    [[nodiscard]] constexpr seq2seq_stack_shape encoder_stack() const {
        auto s = bart_config::encoder_stack();
        s.attention_bias = use_bias;
        return s;
    }
    [[nodiscard]] constexpr seq2seq_stack_shape decoder_stack() const {
        auto s = bart_config::decoder_stack();
        s.attention_bias = use_bias;
        return s;
    }
    /// The longest sequence Transformers runs with full attention under "block_sparse".
    [[nodiscard]] constexpr std::int64_t full_attention_limit() const {
        return (5 + 2 * num_random_blocks) * block_size;
    }
};

/// BigBirdPegasusConfig's defaults.
inline constexpr bigbird_pegasus_config bigbird_pegasus_defaults = [] {
    bigbird_pegasus_config c;
    c.vocab_size = 96103;
    c.d_model = 1024;
    c.encoder_layers = c.decoder_layers = 16;
    c.encoder_attention_heads = c.decoder_attention_heads = 16;
    c.encoder_ffn_dim = c.decoder_ffn_dim = 4096;
    c.max_position_embeddings = 4096;
    c.activation_function = activation::gelu_new;
    c.scale_embedding = true;
    c.pad_token_id = 0;
    c.eos_token_id = 1;
    c.decoder_start_token_id = 2;
    return c;
}();

/// BigBirdPegasusConfig from config.json.
inline bigbird_pegasus_config bigbird_pegasus_config_from_json(const config_reader& r) {
    return load_config<bigbird_pegasus_config>(r, bigbird_pegasus_defaults);
}

/// BigBird-Pegasus's module names: BART's, each stack's final LayerNorm `layernorm_embedding`.
struct bigbird_pegasus_names : seq2seq_names {
    static constexpr std::string_view final_norm = "layernorm_embedding";
};

/// seq2seq_encoder's self-attention hook for BigBird-Pegasus: BigBird's
/// block-sparse context, built once from the attention mask, and
/// `self.query`, `self.key`, `self.value`, `output` around block_sparse_attend.
struct bigbird_pegasus_encoder_attention {
    template <Backend B, class C>
    static big_bird_context<typename B::value> context(B& b, const typename B::value& mask, const C& c) {
        auto guard = b.scope("encoder_attention_mask");
        return block_sparse_context_of(b, mask, c);
    }
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const big_bird_context<typename B::value>& ctx,
                                     const seq2seq_stack_shape& sh) {
        using detail::s2s::projection;
        const auto E = sh.width;
        auto q = projection(b, "self.query", x, E, E, sh);
        auto k = projection(b, "self.key", x, E, E, sh);
        auto v = projection(b, "self.value", x, E, E, sh);
        typename B::value out;
        {
            auto guard = b.scope("self");
            out = block_sparse_attend(b, q, k, v, ctx, E, sh.heads);
        }
        return projection(b, "output", out, E, E, sh);
    }
};

inline constexpr seq2seq_style bigbird_pegasus_style{.pre_norm = true, .positions = seq2seq_positions::learned};

/// BigBirdPegasusForSequenceClassification and ...ForQuestionAnswering are
/// BART's heads (seq2seq_head_layers: the decoder's input shifted right
/// behind decoder_start_token_id in the graph, `classification_head` at the
/// last eos, `qa_outputs`). BigBirdPegasusForCausalLM is the decoder alone
/// (causal-lm, causal-lm-with-past), as BART's: the template's decoder
/// without its cross-attention, `lm_head` tied to
/// `model.decoder.embed_tokens`, no final_logits_bias.
struct bigbird_pegasus_family
    : family_base<"bigbird_pegasus", "model", bigbird_pegasus_config, &bigbird_pegasus_config_from_json, type_list<>>,
      seq2seq_head_layers<bigbird_pegasus_style, seq2seq_shift::start_token, bigbird_pegasus_names,
                          bigbird_pegasus_encoder_attention> {
    using features = concat<seq2seq_family_layers<bigbird_pegasus_style>::features,
                            type_list<task::sequence_classification, task::question_answering>>;
};

}  // namespace typeformer::inline v0
