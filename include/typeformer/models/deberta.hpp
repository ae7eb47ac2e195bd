// typeformer/models/deberta.hpp: DeBERTa (`model_type` "deberta").
//
// Disentangled attention (layers/disentangled.hpp) with a fused, bias-free
// `in_proj` (per head: query, key, value rows) plus `q_bias` and `v_bias`;
// c2p through `pos_proj` (no bias), p2c through `pos_q_proj`. Embeddings:
// word (+ absolute position when `position_biased_input`) (+ token type when
// `type_vocab_size` > 0) at `embedding_size`, `embed_proj` to hidden_size,
// LayerNorm, then zeroed at padded tokens. Post-LN blocks. Classification
// heads pool the first token through ContextPooler (`pooler_hidden_act`).
//
// `token_type_ids` is an input only when type_vocab_size > 0 (the legacy
// DebertaOnnxConfig), so the family is a template on that: deberta_family<true>
// and <false>; with_deberta_family picks the one a config needs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/disentangled.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// DebertaConfig and DebertaV2Config, with Transformers' DeBERTa defaults
/// (the last group is read for DeBERTa-v2 only: deberta_v2_keys).
struct deberta_config {
    std::int64_t vocab_size = 50265;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 0;
    double layer_norm_eps = 1e-7;
    bool relative_attention = false;
    std::int64_t max_relative_positions = -1;  // < 1: max_position_embeddings
    bool position_biased_input = true;
    bool c2p = false, p2c = false;  // pos_att_type
    std::int64_t embedding_size = 0;  // 0: hidden_size
    std::int64_t pooler_hidden_size = 0;  // 0: hidden_size
    activation pooler_hidden_act = activation::gelu;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;
    // DeBERTa-v2
    std::int64_t position_buckets = -1;
    bool share_att_key = false;
    bool norm_rel_ebd = false;  // norm_rel_ebd contains "layer_norm"
    std::int64_t conv_kernel_size = 0;
    std::int64_t conv_groups = 1;
    activation conv_act = activation::tanh;

    static constexpr void rules_across(const deberta_config& c) {
        require(c.pooler_hidden_size == 0 || c.pooler_hidden_size == c.hidden_size,
                "pooler_hidden_size must equal hidden_size (ContextPooler reads the hidden state)");
        require(c.position_buckets <= 0 || c.max_relative() - 1 > c.position_buckets / 2,
                "position_buckets, when positive, needs max_relative_positions (max_position_embeddings when below "
                "1) - 1 above position_buckets / 2");
        require(c.conv_kernel_size <= 0 || c.conv_kernel_size % 2 == 1, "conv_kernel_size must be odd when positive");
        require(c.conv_groups > 0 && c.hidden_size % c.conv_groups == 0,
                "conv_groups must be positive and divide hidden_size");
    }
    static void read_pos_att_type(const config_reader& r, deberta_config& c);

    using self = deberta_config;
    /// The rows of both versions; the v2 settings are DeBERTa-v2's keys
    /// (deberta_v2_keys) and stay fixed for DeBERTa (deberta_keys).
    using fields = field_table<encoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>,
        field<"hidden_size", &self::hidden_size, rule::positive>,
        field<"num_hidden_layers", &self::num_hidden_layers, rule::non_negative>,
        field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
        multiple_of<"hidden_size", "num_attention_heads">,
        field<"intermediate_size", &self::intermediate_size, rule::positive>, field<"hidden_act", &self::hidden_act>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"type_vocab_size", &self::type_vocab_size, rule::non_negative>,
        field<"layer_norm_eps", &self::layer_norm_eps, rule::positive>,
        field<"relative_attention", &self::relative_attention>,
        field<"max_relative_positions", &self::max_relative_positions>,
        field<"position_biased_input", &self::position_biased_input>, internal<&self::c2p>, internal<&self::p2c>,
        reads<&self::read_pos_att_type>, field<"embedding_size", &self::embedding_size, rule::non_negative>,
        field<"pooler_hidden_size", &self::pooler_hidden_size>, field<"pooler_hidden_act", &self::pooler_hidden_act>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
        internal<&self::position_buckets>, internal<&self::share_att_key>, internal<&self::norm_rel_ebd>,
        internal<&self::conv_kernel_size>, internal<&self::conv_groups>, internal<&self::conv_act>,
        // the word table's padding_idx (no effect on the lookup)
        no_effect<"pad_token_id", std::int64_t>,
        // 5.x: false puts another masked-LM head (lm_predictions) in place of 4.x's (cls.predictions)
        always<"legacy", "Transformers 5's non-legacy masked-LM head">, rules<&self::rules_across>>;

    [[nodiscard]] constexpr std::int64_t max_relative() const {
        return max_relative_positions < 1 ? max_position_embeddings : max_relative_positions;
    }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = hidden_size,
                .num_heads = num_attention_heads,
                .intermediate_size = intermediate_size,
                .num_layers = num_hidden_layers,
                .max_positions = max_position_embeddings,
                .type_vocab_size = type_vocab_size,
                .act = hidden_act,
                .eps = static_cast<float>(layer_norm_eps),
                .causal = false,
                .num_labels = num_labels,
                .embedding_size = embedding_size};
    }
    [[nodiscard]] constexpr disentangled_spec disentangled() const {
        return {.relative = relative_attention,
                .c2p = c2p,
                .p2c = p2c,
                .span = position_buckets > 0 ? position_buckets : max_relative(),
                .buckets = position_buckets,
                .max_relative = max_relative(),
                .share_att_key = share_att_key,
                .norm_rel_embeddings = norm_rel_ebd,
                .conv_kernel = conv_kernel_size,
                .conv_groups = conv_groups,
                .conv_act = conv_act};
    }
};

/// pos_att_type ("c2p|p2c", or a list): each of c2p and p2c at most once.
inline void deberta_config::read_pos_att_type(const config_reader& r, deberta_config& c) {
    std::vector<std::string> types;
    r.get_list("pos_att_type", types);
    for (const auto& t : types) {
        bool* flag = t == "c2p" ? &c.c2p : t == "p2c" ? &c.p2c : nullptr;
        if (!flag || *flag)
            throw error("config.unsupported", r.where() + ": /pos_att_type: \"" + t +
                                                  "\" is not supported (each of \"c2p\" and \"p2c\" at most once)");
        *flag = true;
    }
}

/// DebertaConfig's keys: the table's, and talking_head refused.
using deberta_keys = extend<deberta_config::fields,
                            never<"talking_head", "talking-head attention mixes the heads through head_logits_proj "
                                                  "and head_weights_proj">>;

/// DebertaConfig from config.json.
inline deberta_config deberta_config_from_json(const config_reader& r) {
    return load_config<deberta_config, deberta_keys>(r);
}

/// DeBERTa's embeddings (both versions). Names: `scope`, `word`, `position`,
/// `token_type`, `proj`, `norm`; TokenTypes: whether token_type_ids is read.
template <class Names, bool TokenTypes>
struct deberta_embeddings {
    using reads = std::conditional_t<TokenTypes, slots<"input_ids", "attention_mask", "token_type_ids">,
                                     slots<"input_ids", "attention_mask">>;
    using writes = slots<"hidden_states">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<deberta_embeddings, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto width = sh.embedding_width();
        auto guard = b.scope(Names::scope);
        const auto& ids = s[sl::input_ids];
        auto h = b.gather(b.param(std::string(Names::word) + ".weight", {sh.vocab_size, width}), ids);
        if (c.position_biased_input)
            h = b.add(h, b.gather(b.param(std::string(Names::position) + ".weight", {sh.max_positions, width}),
                                  b.range(ids, 1)));
        if constexpr (TokenTypes)
            h = b.add(h, b.gather(b.param(std::string(Names::token_type) + ".weight", {sh.type_vocab_size, width}),
                                  s[sl::token_type_ids]));
        if (width != sh.hidden_size) {
            auto proj = b.scope(Names::proj);
            h = b.linear(h, b.param("weight", {sh.hidden_size, width}));
        }
        h = layer_norm(b, Names::norm, h, sh.hidden_size, sh.eps);
        s.set(sl::hidden_states, b.mul(h, b.unsqueeze(b.cast(s[sl::attention_mask], dtype::f32), {2})));
    }
};

namespace deberta_names {
struct embeddings {
    static constexpr std::string_view scope = "deberta.embeddings", word = "word_embeddings",
                                      position = "position_embeddings", token_type = "token_type_embeddings",
                                      proj = "embed_proj", norm = "LayerNorm";
};
/// The block's module names, the same in both versions.
struct block {
    static constexpr std::string_view stack = "deberta.encoder.layer", encoder = "deberta.encoder",
                                      attention = "attention.self", o = "attention.output.dense",
                                      attn_norm = "attention.output.LayerNorm", ffn_in = "intermediate.dense",
                                      ffn_out = "output.dense", out_norm = "output.LayerNorm";
};
/// DeBERTa's projections: the fused in_proj, q_bias and v_bias; pos_proj, pos_q_proj.
struct layer : block {
    template <Backend B>
    static std::array<typename B::value, 3> qkv(B& b, const typename B::value& x, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size, H = sh.num_heads;
        auto guard = b.scope("attention.self");
        typename B::value fused;
        {
            auto proj = b.scope("in_proj");
            fused = b.reshape(b.linear(x, b.param("weight", {3 * hsz, hsz})), {0, 0, H, 3, hsz / H});
        }
        auto part = [&](std::int64_t k) { return b.reshape(b.select(fused, 3, k), {0, 0, hsz}); };
        return {b.add(part(0), b.param("q_bias", {hsz})), part(1), b.add(part(2), b.param("v_bias", {hsz}))};
    }
    template <Backend B>
    static typename B::value pos_key(B& b, const typename B::value& rel, const encoder_shape& sh,
                                     const disentangled_spec&) {
        auto guard = b.scope("attention.self.pos_proj");
        return b.linear(rel, b.param("weight", {sh.hidden_size, sh.hidden_size}));
    }
    template <Backend B>
    static typename B::value pos_query(B& b, const typename B::value& rel, const encoder_shape& sh,
                                       const disentangled_spec&) {
        return dense(b, "attention.self.pos_q_proj", rel, sh.hidden_size, sh.hidden_size);
    }
};
using lm = bert_lm_names<"deberta">;
}  // namespace deberta_names

/// What DeBERTa and DeBERTa-v2 share: embeddings, heads, inputs; `Layer`
/// names the block's projections.
template <class Config, bool TokenTypes, class Layer>
struct deberta_family_base {
    static constexpr std::string_view base_prefix = "deberta";
    static constexpr double atol = 1e-5;  // the legacy table's validation tolerance
    static constexpr bool token_types = TokenTypes;
    using config = Config;

    /// Checkpoint tensors a model may leave unused: buffers, position
    /// embeddings when position_biased_input is false, the pooler.
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "embeddings.position_embeddings.weight", "pooler.dense.weight",
                "pooler.dense.bias"};
    }

    template <class Task>
    static auto inputs(Task) -> std::conditional_t<TokenTypes,
                                                   task::text_inputs<Task, "input_ids", "attention_mask", "token_type_ids">,
                                                   task::text_inputs<Task, "input_ids", "attention_mask">>;

    using trunk = type_list<deberta_embeddings<deberta_names::embeddings, TokenTypes>,
                            disentangled_encoder<deberta_names::block,
                                                 encoder_block<Layer, disentangled_attention<Layer>>>>;
    using pooler = first_token_pooler<"pooler.dense", &Config::pooler_hidden_act>;
    using fold = std::conditional_t<TokenTypes, fold_choices<"input_ids", "attention_mask", "token_type_ids">,
                                    fold_choices<"input_ids", "attention_mask">>;

    using heads = encoder_heads<lm_head<deberta_names::lm>, pooler>;

    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, trunk, heads, type_list<fold>>;

protected:
    static void check_token_types(const config& c, const config_reader& r) {
        if ((c.type_vocab_size > 0) != TokenTypes)
            throw error("config.invalid", r.where() + ": type_vocab_size " + std::to_string(c.type_vocab_size) +
                                              (TokenTypes ? " has no token_type_ids input"
                                                          : " needs the token_type_ids input"));
    }
};

template <bool TokenTypes>
struct deberta_family : deberta_family_base<deberta_config, TokenTypes, deberta_names::layer> {
    static constexpr std::string_view model_type = "deberta";
    using features = type_list<task::default_, task::masked_lm, task::sequence_classification,
                               task::token_classification, task::question_answering>;

    static deberta_config load(const config_reader& r) {
        auto c = deberta_config_from_json(r);
        deberta_family::check_token_types(c, r);
        return c;
    }
};

/// A DeBERTa-like family chosen by the config: Family<true> (a
/// token_type_ids input) when type_vocab_size > 0, else Family<false>.
template <template <bool> class Family>
struct families_by_token_types {
    using variants = type_list<Family<false>, Family<true>>;
    static std::size_t choose(const config_reader& r) {
        std::int64_t type_vocab_size = 0;
        r.get("type_vocab_size", type_vocab_size);
        return type_vocab_size > 0 ? 1 : 0;
    }
};

/// DeBERTa, whichever variant its config needs.
using deberta_families = families_by_token_types<deberta_family>;

/// DeBERTa with a compile-time config: `struct tiny final : deberta<deberta_config{...}> {};`
template <deberta_config C, class Task = task::default_>
struct deberta : model_of<deberta_family<(C.type_vocab_size > 0)>, Task> {
    static_assert(check(C));
    static constexpr deberta_config config = C;
};

}  // namespace typeformer::inline v0
