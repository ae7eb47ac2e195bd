// typeformer/models/gpt_oss.hpp: GPT-OSS (`model_type` "gpt_oss"), a member
// of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (GPT-OSS came with
// 4.55: there is no 4.41 reading, whatever config_reader::follow says):
//   - attention sinks: a learned logit per head, `self_attn.sinks`, joins
//     each row of scores as one more (never masked) column of the softmax,
//     which is dropped before the values are weighted
//     (projected_attention's Sinks);
//   - alternating windows: the layers `layer_types` names
//     "sliding_attention" (by default the even ones, 0, 2, ...) see the last
//     sliding_window keys (p - w < j <= p); `attention_bias` (true by
//     default) puts biases on q, k, v and o;
//   - the MLP is a mixture of experts (gpt_oss_experts): the router
//     `mlp.router` (a Linear with a bias) picks num_experts_per_tok of
//     num_local_experts experts by their logits, weighted by the softmax of
//     those top-k logits only; the experts are stacked tensors
//     `mlp.experts.gate_up_proj` [E, hidden, 2·intermediate] (x · W: gate
//     the even columns, up the odd ones) with `gate_up_proj_bias`
//     [E, 2·intermediate], `down_proj` [E, intermediate, hidden] with
//     `down_proj_bias` [E, hidden]; the clamped SwiGLU: gate clamped above
//     at swiglu_limit, up clamped to ±swiglu_limit, out = (up + 1) · gate ·
//     sigmoid(gate · swiglu_alpha). hidden_act is not read;
//   - RoPE: the YaRN scaling of Llama's reading (detail::llama_rope_scaling,
//     every key honoured); absent rope_parameters and rope_scaling, GPT-OSS's
//     own default (yarn, factor 32, beta_fast 32, beta_slow 1, truncate
//     false, original_max_position_embeddings 4096) on rope_theta 150000.
// MXFP4 checkpoints (quantization_config {"quant_method": "mxfp4"}, as the
// hub's GPT-OSS checkpoints are stored): the experts' `gate_up_proj_blocks` /
// `down_proj_blocks` (uint8, two FP4 e2m1 values a byte, the low nibble
// first) and `..._scales` (uint8 e8m0 exponents, one per 32 values) are
// dequantized to float32 while loading (gpt_oss_family::make_weights), as
// Transformers' dequantization computes them: value · 2^(scale - 127), the
// rows of [E, out, in] transposed to the [E, in, out] the experts use. Any
// other quantization is refused by name.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "typeformer/io/checkpoint.hpp"
#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// GptOssConfig: LlamaConfig's fields with the experts and the clamped SwiGLU.
struct gpt_oss_config : llama_config {
    std::int64_t num_local_experts = 128;
    std::int64_t num_experts_per_tok = 4;
    double swiglu_alpha = 1.702;
    double swiglu_limit = 7.0;
    /// quantization_config {"quant_method": "mxfp4"}: the experts are stored as MXFP4 blocks and scales.
    bool mxfp4_experts = false;

    [[nodiscard]] constexpr moe_spec moe() const {
        return {.experts = num_local_experts,
                .top_k = num_experts_per_tok,
                .intermediate = intermediate_size,
                .normalize = false,
                .softmax_over_top_k = true};
    }
    static constexpr void experts_rule(const gpt_oss_config& c) {
        require(c.num_experts_per_tok <= c.num_local_experts, "num_experts_per_tok must be at most num_local_experts");
    }

    using base_config = llama_config;
    using self = gpt_oss_config;
    using fields = extend<llama_config::fields, field<"num_local_experts", &self::num_local_experts, rule::positive>,
                          field<"num_experts_per_tok", &self::num_experts_per_tok, rule::positive>,
                          field<"swiglu_alpha", &self::swiglu_alpha>,
                          field<"swiglu_limit", &self::swiglu_limit, rule::positive>,
                          internal<&self::mxfp4_experts>, rules<&self::experts_rule>>;
};

namespace detail {
/// GPT-OSS's windows: layer_types, by default on the even layers; a null
/// sliding_window is refused where a layer slides (Transformers' sliding
/// mask raises).
inline void gpt_oss_windows(const config_reader& r, llama_config& c) {
    read_layer_windows(r, c, [](std::int64_t i) { return (i + 1) % 2 != 0; });
    bool sliding = false;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) sliding = sliding || !c.full_attention_layers.has(i);
    if (sliding && c.sliding_window <= 0) {
        const std::string value = r.is_null("sliding_window") ? "null" : std::to_string(c.sliding_window);
        throw error("config.invalid", r.where() + ": /sliding_window: " + value +
                                          " with sliding layers (Transformers cannot build that model)");
    }
}

/// num_experts is GptOssConfig's other name for num_local_experts (its attribute_map).
inline void gpt_oss_experts_alias(const config_reader& r, gpt_oss_config& c) {
    if (!r.has("num_experts") || r.is_null("num_experts")) return;
    std::int64_t n = 0;
    r.get("num_experts", n);
    if (r.has("num_local_experts") && n != c.num_local_experts)
        throw error("config.invalid", r.where() + ": /num_experts and /num_local_experts disagree");
    if (n <= 0) throw error("config.invalid", r.where() + ": /num_experts: must be positive");
    if (c.num_experts_per_tok > n)
        throw error("config.invalid", r.where() + ": num_experts_per_tok must be at most num_local_experts");
    c.num_local_experts = n;
}

/// quantization_config: absent, null or empty (a float checkpoint), or
/// MXFP4 experts ({"quant_method": "mxfp4"}; modules_to_not_convert names
/// what is stored unquantized and dequantize asks Transformers for float
/// weights: neither changes what the export reads, which dequantizes any
/// expert tensor stored as MXFP4). Any other method or key is refused.
inline void gpt_oss_quantization(const config_reader& r, gpt_oss_config& c) {
    const auto* q = r.raw("quantization_config");
    if (!q || q->is_null() || (q->is_object() && q->empty())) return;
    if (!q->is_object())
        throw error("config.type_error", r.where() + ": /quantization_config: expected an object, got " + q->dump());
    const auto method = q->find("quant_method");
    if (method == q->end() || *method != "mxfp4")
        throw error("config.unsupported",
                    r.where() + ": /quantization_config/quant_method: " +
                        (method == q->end() ? std::string("absent") : method->dump()) +
                        " is not supported (only \"mxfp4\": GPT-OSS's experts stored as MXFP4 blocks and scales, "
                        "dequantized to float32 while loading)");
    for (const auto& [key, value] : q->items()) {
        if (key == "quant_method") continue;
        if (key == "modules_to_not_convert" && (value.is_null() || value.is_array())) continue;
        if (key == "dequantize" && value.is_boolean()) continue;
        throw error("config.unsupported", r.where() + ": /quantization_config/" + key + ": " + value.dump() +
                                              " is not supported (an MXFP4 quantization_config reads quant_method, "
                                              "modules_to_not_convert and dequantize)");
    }
    c.mxfp4_experts = true;
}

/// MXFP4's FP4 (e2m1) values by their 4-bit code, the sign in the high bit.
inline constexpr std::array<float, 16> fp4_values{0.f,  0.5f,  1.f,  1.5f,  2.f,  3.f,  4.f,  6.f,
                                                  -0.f, -0.5f, -1.f, -1.5f, -2.f, -3.f, -4.f, -6.f};

/// One MXFP4 tensor dequantized: blocks [E, R, G, 16] (uint8, value k of a
/// row in byte k / 2, the low nibble for even k) and scales [E, R, G] (uint8,
/// 2^(s - 127) for each 32 values) to float32 [E, G · 32, R] (each expert's
/// [R, K] transposed, as Transformers' convert_moe_packed_tensors returns it).
inline std::vector<float> dequantize_mxfp4(const tensor_view& blocks, const tensor_view& scales, std::int64_t E,
                                           std::int64_t R, std::int64_t K) {
    const std::int64_t G = K / 32;
    const std::vector<std::int64_t> want_blocks{E, R, G, 16}, want_scales{E, R, G};
    auto shape = [](const std::vector<std::int64_t>& s) {
        std::string t = "[";
        for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
        return t + "]";
    };
    if (blocks.type != dtype::u8 || scales.type != dtype::u8 || blocks.shape != want_blocks ||
        scales.shape != want_scales || K % 32 != 0)
        throw error("checkpoint.mismatch",
                    std::string(blocks.name) + " " + shape(blocks.shape) + " and " + std::string(scales.name) + " " +
                        shape(scales.shape) + ": expected MXFP4 uint8 blocks " + shape(want_blocks) +
                        " and scales " + shape(want_scales) + " (the config's experts, rows and columns / 32)");
    const auto* b = reinterpret_cast<const std::uint8_t*>(blocks.bytes.data());
    const auto* s = reinterpret_cast<const std::uint8_t*>(scales.bytes.data());
    std::vector<float> out(static_cast<std::size_t>(E * K * R));
    for (std::int64_t e = 0; e < E; ++e)
        for (std::int64_t r = 0; r < R; ++r)
            for (std::int64_t k = 0; k < K; ++k) {
                const std::int64_t g = k / 32, at = (e * R + r) * G + g;
                const std::uint8_t byte = b[at * 16 + (k % 32) / 2];
                const int code = k % 2 == 0 ? byte & 0x0F : byte >> 4;
                out[static_cast<std::size_t>((e * K + k) * R + r)] =
                    std::ldexp(fp4_values[static_cast<std::size_t>(code)], static_cast<int>(s[at]) - 127);
            }
    return out;
}

/// Without rope_parameters or rope_scaling, GptOssConfig writes its own
/// RoPE: yarn, factor 32, beta_fast 32, beta_slow 1, truncate false,
/// original_max_position_embeddings 4096 (attention factor 0.1 · ln 32 + 1).
inline void gpt_oss_default_rope(const config_reader& r, llama_config& c) {
    const bool params = r.has("rope_parameters") && !r.is_null("rope_parameters");
    const bool legacy = r.has("rope_scaling") && !r.is_null("rope_scaling");
    if (params || legacy) return;
    c.rope_scaling = llama_config::rope_scaling_kind::yarn;
    c.rope_factor = 32.0;
    c.rope_beta_fast = 32.0;
    c.rope_beta_slow = 1.0;
    c.rope_truncate = false;
    c.rope_original_max_positions = 4096;
    c.rope_attention_factor = 0.1 * std::log(32.0) + 1.0;
}
}  // namespace detail

/// The keys GptOssConfig reads beyond the shared rows: the biases, the
/// windows and their layers, num_experts (num_local_experts' alias), the
/// RoPE scaling (GPT-OSS's yarn by default); the router's training settings
/// have no effect.
using gpt_oss_keys =
    extend<gpt_oss_config::fields, field<"attention_bias", &llama_config::attention_bias>, window_key,
           owns<"layer_types">, reads<&detail::no_4_41_reading>, reads<&detail::gpt_oss_windows>,
           reads<&detail::gpt_oss_experts_alias>, reads<&detail::gpt_oss_default_rope>,
           owns<"quantization_config">, reads<&detail::gpt_oss_quantization>,
           reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
           // the experts' activation is the clamped SwiGLU; nothing in GptOss's model code reads hidden_act
           no_effect<"hidden_act", std::string>,
           // training only: the load-balancing loss
           no_effect<"router_aux_loss_coef", double>, no_effect<"output_router_logits", bool>,
           // GenericForTokenClassification's score takes bias=token_classification_bias (default true)
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// GptOssConfig from config.json, with GPT-OSS's defaults.
inline gpt_oss_config gpt_oss_config_from_json(const config_reader& r) {
    gpt_oss_config c;
    c.vocab_size = 201088;
    c.hidden_size = 2880;
    c.intermediate_size = 2880;
    c.num_hidden_layers = 36;
    c.num_attention_heads = 64;
    c.num_key_value_heads = 8;
    c.head_dim = 64;
    c.max_position_embeddings = 131072;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 150000.0;
    c.sliding_window = 128;
    c.attention_bias = true;
    return load_config<gpt_oss_config, gpt_oss_keys>(r, c);
}

/// Module names of GPT-OSS's layer: Llama's attention (with its sinks), the router and the experts.
namespace gpt_oss_names {
struct layer : llama_names::layer {
    static constexpr std::string_view router = "mlp.router", experts = "mlp.experts";
};
}  // namespace gpt_oss_names

/// GPT-OSS's mixture of experts, evaluated densely with the result of
/// Transformers' per-expert loop: every expert runs on every token (as one
/// batched matmul over the stacked weights) and is weighted by its routing
/// weight (detail::moe_weights: 0 where the token did not pick it), the
/// experts' outputs added in expert order. Names: `router`, `experts`.
template <class Names>
struct gpt_oss_experts {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        const auto sh = c.shape();
        const moe_spec m = c.moe();
        const std::int64_t H = sh.hidden_size, E = m.experts, I = m.intermediate;
        const auto limit = static_cast<float>(c.swiglu_limit);
        auto weights = detail::moe_weights(b, dense(b, Names::router, x, H, E), m);  // [B, S, E]
        auto guard = b.scope(Names::experts);
        auto tokens = b.reshape(x, {1, -1, H});                                         // [1, N, H]
        auto gate_up = b.add(b.matmul(tokens, b.param("gate_up_proj", {E, H, 2 * I})),
                             b.unsqueeze(b.param("gate_up_proj_bias", {E, 2 * I}), {1}));  // [E, N, 2I]
        auto pairs = b.reshape(gate_up, {0, 0, I, 2});
        auto gate = b.clamp(b.select(pairs, -1, 0), -std::numeric_limits<float>::infinity(), limit);
        auto up = b.clamp(b.select(pairs, -1, 1), -limit, limit);
        auto glu = b.mul(gate, b.sigmoid(b.mul(gate, b.scalar(static_cast<float>(c.swiglu_alpha)))));
        auto gated = b.mul(b.add(up, b.scalar(1.f)), glu);                              // [E, N, I]
        auto y = b.add(b.matmul(gated, b.param("down_proj", {E, I, H})),
                       b.unsqueeze(b.param("down_proj_bias", {E, H}), {1}));            // [E, N, H]
        auto w = b.transpose(b.reshape(weights, {-1, E}), {1, 0});                       // [E, N]
        y = b.mul(y, b.unsqueeze(w, {-1}));
        typename B::value out;
        for (std::int64_t e = 0; e < E; ++e) {
            auto ye = b.select(y, 0, e);  // [N, H]
            out = e == 0 ? ye : b.add(out, ye);
        }
        return b.reshape(out, b.shape(x, 0, 3));
    }
};

/// GPT-OSS's features: the Llama family's and token classification (`score`, with a bias).
using gpt_oss_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                   task::causal_lm_with_past, task::sequence_classification,
                                   task::token_classification>;

struct gpt_oss_family
    : llama_like_family<"gpt_oss", gpt_oss_config, &gpt_oss_config_from_json,
                        decoder_block<gpt_oss_names::layer, projected_attention<gpt_oss_names::layer, false, true>,
                                      gpt_oss_experts<gpt_oss_names::layer>>,
                        decoder_embedding_options{}, gpt_oss_features, token_classifier<"score">> {
    /// The rotary buffer, and the MXFP4 tensors make_weights dequantizes.
    static std::vector<std::string> ignored() {
        return {"rotary_emb.inv_freq", "mlp.experts.gate_up_proj_blocks", "mlp.experts.gate_up_proj_scales",
                "mlp.experts.down_proj_blocks", "mlp.experts.down_proj_scales"};
    }
    /// MXFP4 experts (quantization_config): each layer's gate_up_proj and
    /// down_proj dequantized from their _blocks and _scales to float32. MXFP4
    /// tensors in a checkpoint whose config.json says nothing of them are
    /// refused by name.
    static void make_weights(const gpt_oss_config& c, checkpoint& ck) {
        auto made = std::make_shared<made_tensors>();
        made->source = "MXFP4 experts (dequantized)";
        const std::int64_t E = c.num_local_experts, H = c.hidden_size, I = c.intermediate_size;
        for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
            for (const auto& [name, rows, cols] : {std::tuple{"gate_up_proj", 2 * I, H}, std::tuple{"down_proj", H, I}}) {
                const std::string full = "model.layers." + std::to_string(l) + ".mlp.experts." + name;
                const auto* blocks = ck.find(full + "_blocks");
                const auto* scales = ck.find(full + "_scales");
                if (!blocks && !scales) continue;
                if (!c.mxfp4_experts)
                    throw error("checkpoint.mismatch", full + ": stored as MXFP4 (_blocks, _scales), but config.json "
                                                              "has no quantization_config {\"quant_method\": \"mxfp4\"}");
                if (!blocks || !scales)
                    throw error("checkpoint.missing", full + (blocks ? "_scales" : "_blocks") + " is missing (MXFP4 "
                                                                                                 "needs both)");
                std::string stored(blocks->name);
                stored.resize(stored.size() - std::string_view("_blocks").size());
                made->names.push_back(stored);
                made->shapes.push_back({E, cols, rows});
                made->data.push_back(detail::dequantize_mxfp4(*blocks, *scales, E, rows, cols));
            }
        if (!made->names.empty()) ck.add(made);
    }
};

}  // namespace typeformer::inline v0
