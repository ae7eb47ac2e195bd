// typeformer/models/gpt_neo.hpp: GPT-Neo (`model_type` "gpt_neo").
//
// GPT-2's layout with nn.Linear projections: learned word and position
// embeddings (`wte`, `wpe`), pre-LN sequential blocks, a final `ln_f`, the
// LM head tied to `wte`. What is its own is the attention: q, k, v without
// bias, `out_proj` with one, scores NOT scaled, and layers alternating
// between global (causal) and local attention as `attention_layers` says; a
// local layer sees only the `window_size` most recent keys (key j from the
// query at position p iff p - window_size < j <= p), through the stack's
// windowed bias (decoder_context). The model and the causal LM (with and
// without past) take position_ids, as Optimum gives them; the classifier
// counts positions on from the past.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// GPTNeoConfig, with Transformers' defaults.
struct gpt_neo_config {
    static constexpr decoder_hooks hooks{.rotary = true, .windows = true, .masks = true, .attention_scale = true};
    static constexpr std::size_t max_layers = 128;
    /// Transformers' default attention_types [[["global", "local"], 12]]:
    /// even layers global, odd layers local.
    static constexpr std::array<bool, max_layers> alternating() {
        std::array<bool, max_layers> a{};
        for (std::size_t i = 0; i < max_layers; ++i) a[i] = i % 2 == 1;
        return a;
    }

    std::int64_t vocab_size = 50257;
    std::int64_t max_position_embeddings = 2048;
    std::int64_t hidden_size = 2048;
    std::int64_t num_layers = 24;
    std::int64_t num_heads = 16;
    std::int64_t intermediate_size = 0;  // None: 4 · hidden_size
    std::int64_t window_size = 256;
    activation activation_function = activation::gelu_new;
    double layer_norm_epsilon = 1e-5;
    bool tie_word_embeddings = true;
    std::int64_t pad_token_id = -1;  // None
    bool pool_before_first_pad = false;  ///< Transformers 4.41's sequence-classification pooling
    std::int64_t num_labels = 2;
    /// attention_layers: true where layer i is "local", false where "global".
    std::array<bool, max_layers> local_layers = alternating();

    static constexpr void layer_rules(const gpt_neo_config& c) {
        require(c.num_layers <= static_cast<std::int64_t>(max_layers), "num_layers must be at most 128");
        require(!c.has_local() || c.window_size > 0, "window_size must be positive when a layer is local");
    }
    static void read_attention_layers(const config_reader& r, gpt_neo_config& c);

    using self = gpt_neo_config;
    using fields = field_table<decoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"hidden_size", &self::hidden_size, rule::positive>,
        field<"num_layers", &self::num_layers, rule::non_negative>,
        field<"num_heads", &self::num_heads, rule::positive>,
        multiple_of<"hidden_size", "num_heads">,
        field<"intermediate_size", &self::intermediate_size, rule::positive_or<0>>,
        field<"window_size", &self::window_size>, field<"activation_function", &self::activation_function>,
        field<"layer_norm_epsilon", &self::layer_norm_epsilon, rule::positive>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, field<"pad_token_id", &self::pad_token_id>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>, internal<&self::local_layers>, reads<&self::read_attention_layers>,
        rules<&self::layer_rules>>;

    [[nodiscard]] constexpr std::int64_t inner() const {
        return intermediate_size > 0 ? intermediate_size : 4 * hidden_size;
    }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = hidden_size,
                .num_heads = num_heads,
                .intermediate_size = inner(),
                .num_layers = num_layers,
                .max_positions = max_position_embeddings,
                .type_vocab_size = 0,
                .act = activation_function,
                .eps = static_cast<float>(layer_norm_epsilon),
                .causal = true,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr kv_cache_shape cache() const { return {num_layers, num_heads, hidden_size / num_heads}; }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    /// How GPTNeoSelfAttention adds its masks (decoder.hpp, mask_sum).
    [[nodiscard]] constexpr mask_sum masks() const { return mask_sum::window_plus_causal_padding; }
    // what projected_attention and decoder_context ask of the config
    [[nodiscard]] constexpr bool qkv_bias() const { return false; }
    [[nodiscard]] constexpr bool o_bias() const { return true; }
    [[nodiscard]] rotary_spec rotary() const { return {}; }  // none
    [[nodiscard]] constexpr float attention_scale() const { return 1.f; }  // GPT-Neo does not scale
    [[nodiscard]] constexpr bool local(std::int64_t layer) const {
        return local_layers[static_cast<std::size_t>(layer)];
    }
    [[nodiscard]] constexpr std::int64_t window(std::int64_t layer) const { return local(layer) ? window_size : 0; }
    [[nodiscard]] constexpr bool has_local() const {
        for (std::int64_t i = 0; i < num_layers; ++i)
            if (local(i)) return true;
        return false;
    }
    [[nodiscard]] constexpr std::int64_t any_window() const { return has_local() ? window_size : 0; }
};

/// attention_types ([[["global", "local"], 12], ...]: each pattern repeated
/// its count of times) expanded to one type per layer, as Transformers'
/// expand_attention_types_params does.
inline std::vector<std::string> gpt_neo_expand_attention_types(const nlohmann::json& v, const std::string& where) {
    auto bad = [&] {
        throw error("config.type_error", where + ": /attention_types: expected a list of [list of strings, count], got " +
                                             v.dump());
    };
    if (!v.is_array()) bad();
    std::vector<std::string> layers;
    for (const auto& item : v) {
        if (!item.is_array() || item.size() != 2 || !item[0].is_array() || !item[1].is_number_integer()) bad();
        const auto count = item[1].get<std::int64_t>();
        if (count < 0 || count > static_cast<std::int64_t>(gpt_neo_config::max_layers)) bad();
        for (std::int64_t k = 0; k < count; ++k)
            for (const auto& t : item[0]) {
                if (!t.is_string()) bad();
                layers.push_back(t.get<std::string>());
            }
    }
    return layers;
}

/// attention_layers, one "global" or "local" per layer: Transformers expands
/// attention_types into it; an attention_layers saved in config.json
/// (save_pretrained writes it) must agree with attention_types when both are
/// there (Transformers 5 recomputes it from attention_types).
inline void gpt_neo_config::read_attention_layers(const config_reader& r, gpt_neo_config& c) {
    std::vector<std::string> types;
    const char* key = "attention_layers";
    if (r.has("attention_layers")) {
        r.get_list("attention_layers", types);
        // Transformers 5 expands attention_types whatever attention_layers says: both must agree
        if (const auto* v = r.raw("attention_types"); v && gpt_neo_expand_attention_types(*v, r.where()) != types)
            throw error("config.invalid", r.where() + ": /attention_layers and /attention_types disagree (Transformers "
                                                      "4.41 takes attention_layers, 5.x recomputes it from attention_types)");
    } else if (const auto* v = r.raw("attention_types")) {
        types = gpt_neo_expand_attention_types(*v, r.where());
        key = "attention_types";
    } else {
        types = gpt_neo_expand_attention_types(nlohmann::json::parse(R"([[["global", "local"], 12]])"), r.where());
        key = "attention_types";
    }
    if (static_cast<std::int64_t>(types.size()) != c.num_layers)
        throw error("config.invalid", r.where() + ": /" + key + ": " + std::to_string(types.size()) +
                                          " attention layers for num_layers " + std::to_string(c.num_layers));
    if (types.size() > max_layers)
        throw error("config.unsupported", r.where() + ": /num_layers: " + std::to_string(types.size()) +
                                              " layers (at most " + std::to_string(max_layers) + ")");
    for (std::size_t i = 0; i < types.size(); ++i) {
        if (types[i] != "global" && types[i] != "local")
            throw error("config.unsupported", r.where() + ": /" + key + ": attention type \"" + types[i] +
                                                  "\" is not supported (only \"global\" and \"local\")");
        c.local_layers[i] = types[i] == "local";
    }
}

/// GPTNeoConfig from config.json.
inline gpt_neo_config gpt_neo_config_from_json(const config_reader& r) { return load_config<gpt_neo_config>(r); }

namespace gpt_neo_names {
struct layer {
    static constexpr std::string_view stack = "transformer.h", norm_1 = "ln_1", norm_2 = "ln_2";
};
struct self_attention {
    static constexpr std::string_view q = "attn.attention.q_proj", k = "attn.attention.k_proj",
                                      v = "attn.attention.v_proj", o = "attn.attention.out_proj",
                                      attention = "attn.attention";
};
struct mlp {
    static constexpr std::string_view fc_in = "mlp.c_fc", fc_out = "mlp.c_proj";
};
struct embeddings {
    static constexpr std::string_view word = "transformer.wte", position = "transformer.wpe";
};
}  // namespace gpt_neo_names

struct gpt_neo_family
    : family_base<"gpt_neo", "transformer", gpt_neo_config, &gpt_neo_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                            task::sequence_classification>> {
    /// The causal-mask buffers older checkpoints carry.
    static std::vector<std::string> ignored() { return {"attn.attention.bias", "attn.attention.masked_bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, task::generation_position_ids<Task>>;

    using block = decoder_block<gpt_neo_names::layer, projected_attention<gpt_neo_names::self_attention>,
                                plain_mlp<gpt_neo_names::mlp>>;
    template <class Task>
    using trunk = concat<decoder_positions_unless<task::generation_position_ids<Task>>,
                         type_list<decoder_embeddings<gpt_neo_names::embeddings>,
                                   decoder_stack<gpt_neo_names::layer, block, decoder_context, task::has_past<Task>>,
                                   decoder_final_norm<"transformer.ln_f">>>;
    using lm = decoder_lm_head<"lm_head", "transformer.wte.weight">;

    template <class Task>
    static auto layers(Task) -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">>;
};

/// GPT-Neo with a compile-time config: `struct tiny final : gpt_neo<gpt_neo_config{...}> {};`
template <gpt_neo_config C, class Task = task::default_>
struct gpt_neo : model_of<gpt_neo_family, Task> {
    static_assert(check(C));
    static constexpr gpt_neo_config config = C;
};

}  // namespace typeformer::inline v0
