// typeformer/models/deberta_v2.hpp: DeBERTa-v2 and -v3 (`model_type` "deberta-v2").
//
// DeBERTa (models/deberta.hpp) with separate query/key/value Linears (with
// biases), position projections `pos_key_proj` / `pos_query_proj`, or the
// content `key_proj` / `query_proj` themselves when `share_att_key`; log
// bucketed relative positions when `position_buckets` > 0; LayerNorm on the
// relative embeddings when `norm_rel_ebd` says "layer_norm"; a ConvLayer
// after the first block when `conv_kernel_size` > 0. Adds multiple choice.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/deberta.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// norm_rel_ebd ("layer_norm|none", or a list): "layer_norm" turns the LayerNorm on.
inline void read_norm_rel_ebd(const config_reader& r, deberta_config& c) {
    std::vector<std::string> norm{"none"};
    r.get_list("norm_rel_ebd", norm);
    for (const auto& n : norm) {
        if (n == "layer_norm") c.norm_rel_ebd = true;
        else if (n != "none")
            throw error("config.unsupported", r.where() + ": /norm_rel_ebd: \"" + n + "\" is not supported");
    }
}

/// attention_head_size: only hidden_size / num_attention_heads.
inline void refuse_attention_head_size(const config_reader& r, deberta_config& c) {
    std::int64_t head_size = c.hidden_size / std::max<std::int64_t>(c.num_attention_heads, 1);
    r.get("attention_head_size", head_size);
    if (head_size * c.num_attention_heads != c.hidden_size)
        throw error("config.unsupported", r.where() + ": /attention_head_size: only hidden_size / num_attention_heads "
                                                      "is supported");
}
}  // namespace detail

/// DebertaV2Config's keys: the table's, and the v2 settings.
using deberta_v2_keys =
    extend<deberta_config::fields, field<"position_buckets", &deberta_config::position_buckets>,
           field<"share_att_key", &deberta_config::share_att_key>, reads<&detail::read_norm_rel_ebd>,
           field<"conv_kernel_size", &deberta_config::conv_kernel_size>,
           field<"conv_groups", &deberta_config::conv_groups>, field<"conv_act", &deberta_config::conv_act>,
           reads<&detail::refuse_attention_head_size>>;

/// DebertaV2Config's defaults.
inline constexpr deberta_config deberta_v2_defaults{.vocab_size = 128100,
                                                    .hidden_size = 1536,
                                                    .num_hidden_layers = 24,
                                                    .num_attention_heads = 24,
                                                    .intermediate_size = 6144};

/// DebertaV2Config from config.json.
inline deberta_config deberta_v2_config_from_json(const config_reader& r) {
    return load_config<deberta_config, deberta_v2_keys>(r, deberta_v2_defaults);
}

namespace deberta_v2_names {
/// DeBERTa-v2's projections: query_proj, key_proj, value_proj; pos_key_proj,
/// pos_query_proj, or the content ones when share_att_key.
struct layer : deberta_names::block {
    template <Backend B>
    static std::array<typename B::value, 3> qkv(B& b, const typename B::value& x, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        return {dense(b, "attention.self.query_proj", x, hsz, hsz), dense(b, "attention.self.key_proj", x, hsz, hsz),
                dense(b, "attention.self.value_proj", x, hsz, hsz)};
    }
    template <Backend B>
    static typename B::value pos_key(B& b, const typename B::value& rel, const encoder_shape& sh,
                                     const disentangled_spec& s) {
        return dense(b, s.share_att_key ? "attention.self.key_proj" : "attention.self.pos_key_proj", rel,
                     sh.hidden_size, sh.hidden_size);
    }
    template <Backend B>
    static typename B::value pos_query(B& b, const typename B::value& rel, const encoder_shape& sh,
                                       const disentangled_spec& s) {
        return dense(b, s.share_att_key ? "attention.self.query_proj" : "attention.self.pos_query_proj", rel,
                     sh.hidden_size, sh.hidden_size);
    }
};
}  // namespace deberta_v2_names

template <bool TokenTypes>
struct deberta_v2_family : deberta_family_base<deberta_config, TokenTypes, deberta_v2_names::layer> {
    static constexpr std::string_view model_type = "deberta-v2";
    using features = type_list<task::default_, task::masked_lm, task::sequence_classification, task::multiple_choice,
                               task::token_classification, task::question_answering>;

    static deberta_config load(const config_reader& r) {
        auto c = deberta_v2_config_from_json(r);
        deberta_v2_family::check_token_types(c, r);
        return c;
    }
};

/// DeBERTa-v2, whichever variant its config needs.
using deberta_v2_families = families_by_token_types<deberta_v2_family>;

/// DeBERTa-v2 with a compile-time config.
template <deberta_config C, class Task = task::default_>
struct deberta_v2 : model_of<deberta_v2_family<(C.type_vocab_size > 0)>, Task> {
    static_assert(check(C));
    static constexpr deberta_config config = C;
};

}  // namespace typeformer::inline v0
