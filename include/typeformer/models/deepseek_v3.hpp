// typeformer/models/deepseek_v3.hpp: DeepSeek-V3 (`model_type` "deepseek_v3"),
// a member of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (DeepSeek-V3 came
// after 4.41: there is no 4.41 reading):
//   - multi-head latent attention (latent_attention): q from a low-rank
//     pair (`self_attn.q_a_proj`, RMSNorm `q_a_layernorm`, `q_b_proj`; a
//     plain `q_proj` when q_lora_rank is null), each head's
//     qk_nope_head_dim + qk_rope_head_dim features; k and v from one latent
//     (`kv_a_proj_with_mqa`: kv_lora_rank features, RMSNorm
//     `kv_a_layernorm`, and qk_rope_head_dim features of a key part shared
//     by every head), expanded per head by `kv_b_proj` (qk_nope_head_dim
//     key and v_head_dim value features a head); the rotary embeddings on
//     the rope parts only, in the interleaved layout when rope_interleave
//     (the turned pairs written back as halves); the scores scaled by
//     (qk_nope + qk_rope)^-0.5, times mscale² of a RoPE scaling whose
//     mscale_all_dim is set; `o_proj` from heads · v_head_dim. The two
//     low-rank norms take eps 1e-6 whatever rms_norm_eps says.
//   - the cache holds what Transformers' holds: the normalised latent as
//     the key ([batch, 1, seq, kv_lora_rank]) and the rotated shared key
//     part as the value ([batch, 1, seq, qk_rope_head_dim]).
//   - the MLP: Llama's gated MLP (intermediate_size) on the first
//     first_k_dense_replace layers; on the others a sparse mixture of
//     n_routed_experts experts (`mlp.experts.<e>`, moe_intermediate_size
//     wide) picked by a sigmoid router (`mlp.gate`) with
//     `e_score_correction_bias` for the choice, limited to the topk_group
//     best of n_group groups, the weights renormalised (norm_topk_prob) and
//     times routed_scaling_factor, plus the shared experts
//     (`mlp.shared_experts`, moe_intermediate_size · n_shared_experts wide).
// Block-scaled FP8 checkpoints (quantization_config {"quant_method": "fp8",
// "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [bo,
// bi]}, as the released DeepSeek-V3 checkpoints are stored): every Linear
// weight stored as F8_E4M3 with a `weight_scale_inv` (a float per bo × bi
// block) is dequantized to float32 while loading (deepseek_v3_family::
// make_weights, io/checkpoint.hpp's dequantize_fp8_blocks): value × its
// block's scale, as Transformers' dequantization computes it (the model
// Transformers runs without a GPU or with dequantize; its FP8 kernels,
// which also quantize the activations, are not what the export computes).
// Refused by name: num_key_value_heads other than num_attention_heads
// (Transformers' eager attention cannot run it), a partial rotary factor,
// any other quantization (another quant_method or fmt, activation_scheme
// static, per-tensor scales (weight_block_size null), UE8M0 scales, FP4
// experts, FP8 embeddings). A weight that is not a whole number of blocks
// has a partial last block row or column with a scale of its own (the scale
// grid ceil-divided, as Transformers' FP8Linear computes it; its
// dequantizing loader refuses such weights).
#pragma once

#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/checkpoint.hpp"
#include "typeformer/models/mixtral.hpp"

namespace typeformer::inline v0 {

/// DeepseekV3Config: LlamaConfig's fields with the latent attention and the experts.
struct deepseek_v3_config : llama_config {
    std::int64_t q_lora_rank = 1536;  ///< 0: None (a plain q_proj)
    std::int64_t kv_lora_rank = 512;
    std::int64_t qk_rope_head_dim = 64;
    std::int64_t qk_nope_head_dim = 128;
    std::int64_t v_head_dim = 128;
    bool rope_interleave = true;
    std::int64_t moe_intermediate_size = 2048;
    std::int64_t n_routed_experts = 256;
    std::int64_t num_experts_per_tok = 8;
    std::int64_t n_shared_experts = 1;
    std::int64_t n_group = 8;
    std::int64_t topk_group = 4;
    bool norm_topk_prob = true;
    double routed_scaling_factor = 2.5;
    std::int64_t first_k_dense_replace = 3;
    moe_scoring scoring = moe_scoring::sigmoid;  ///< Mistral 4: softmax, no correction bias
    double mscale = 1;                           ///< the softmax scale's factor (a RoPE scaling's mscale_all_dim)
    /// Llama 4's query scaling (Mistral 4): queries times 1 + beta · ln(1 +
    /// floor(position / original)); beta 0: none (DeepSeek-V3).
    double llama4_beta = 0;
    std::int64_t llama4_original = 0;
    bool fused_experts = false;  ///< Mistral 4: the experts stored as Transformers 5 holds them (moe_spec)
    /// quantization_config {"quant_method": "fp8"}: weight_block_size (rows,
    /// cols) of the block-scaled FP8 weights; 0: a float checkpoint.
    std::int64_t fp8_block_rows = 0, fp8_block_cols = 0;

    [[nodiscard]] constexpr std::int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
    [[nodiscard]] constexpr kv_cache_shape cache() const {
        return {num_hidden_layers, 1, kv_lora_rank, kv_layout::heads_first, qk_rope_head_dim};
    }
    [[nodiscard]] float attention_scale() const {
        return static_cast<float>(std::pow(static_cast<double>(qk_head_dim()), -0.5) * mscale * mscale);
    }
    [[nodiscard]] rotary_spec rotary() const {
        rotary_spec r = llama_config::rotary();
        r.interleaved = rope_interleave;
        r.halves_out = rope_interleave;
        return r;
    }
    [[nodiscard]] constexpr moe_spec moe() const {
        return {.experts = n_routed_experts,
                .top_k = num_experts_per_tok,
                .intermediate = moe_intermediate_size,
                .normalize = norm_topk_prob,
                .scoring = scoring,
                .correction_bias = scoring == moe_scoring::sigmoid,
                .groups = n_group,
                .topk_groups = topk_group,
                .normalize_eps = 1e-20,
                .scaling = routed_scaling_factor,
                .shared_intermediate = moe_intermediate_size * n_shared_experts,
                .fused_experts = fused_experts};
    }
    [[nodiscard]] constexpr bool moe_layer(std::int64_t layer) const { return layer >= first_k_dense_replace; }

    static constexpr void latent_rule(const deepseek_v3_config& c) {
        require(c.kv_heads() == c.num_attention_heads,
                "num_key_value_heads must equal num_attention_heads (the latent attention expands keys and values "
                "for every head; Transformers' attention fails on fewer key/value heads)");
        require(c.n_group > 0 && c.n_routed_experts % c.n_group == 0, "n_routed_experts must be a multiple of n_group");
        require(c.n_routed_experts / c.n_group >= 2,
                "each of the n_group groups needs two experts at least (its score is the sum of its best two)");
        require(c.topk_group <= c.n_group, "topk_group must be at most n_group");
        require(c.num_experts_per_tok <= c.topk_group * (c.n_routed_experts / c.n_group),
                "num_experts_per_tok must be at most the experts of the topk_group groups kept (Transformers would "
                "pick masked experts)");
    }

    using base_config = llama_config;
    using self = deepseek_v3_config;
    using fields = extend<
        llama_config::fields, field<"q_lora_rank", &self::q_lora_rank, rule::non_negative, read::null_is<0>>,
        field<"kv_lora_rank", &self::kv_lora_rank, rule::positive>,
        field<"qk_rope_head_dim", &self::qk_rope_head_dim, rule::positive>,
        field<"qk_nope_head_dim", &self::qk_nope_head_dim, rule::positive>,
        field<"v_head_dim", &self::v_head_dim, rule::positive>, field<"rope_interleave", &self::rope_interleave>,
        field<"moe_intermediate_size", &self::moe_intermediate_size, rule::positive>,
        field<"n_routed_experts", &self::n_routed_experts, rule::positive>,
        field<"num_experts_per_tok", &self::num_experts_per_tok, rule::positive>,
        field<"n_shared_experts", &self::n_shared_experts, rule::non_negative>,
        field<"n_group", &self::n_group, rule::positive>, field<"topk_group", &self::topk_group, rule::positive>,
        field<"norm_topk_prob", &self::norm_topk_prob>,
        field<"routed_scaling_factor", &self::routed_scaling_factor>,
        field<"first_k_dense_replace", &self::first_k_dense_replace, rule::non_negative>, internal<&self::scoring>,
        internal<&self::mscale, rule::positive, "the softmax scale's mscale">, internal<&self::llama4_beta>,
        internal<&self::llama4_original>, internal<&self::fused_experts>, internal<&self::fp8_block_rows>,
        internal<&self::fp8_block_cols>, rules<&self::latent_rule>>;
};

namespace detail {
/// num_local_experts, the attribute_map's name for n_routed_experts (both
/// given: they must agree).
inline void deepseek_v3_experts_alias(const config_reader& r, deepseek_v3_config& c) {
    if (r.has("num_local_experts")) {
        std::int64_t local = 0;
        r.get("num_local_experts", local);
        if (r.has("n_routed_experts") && local != c.n_routed_experts)
            throw error("config.invalid", r.where() + ": /n_routed_experts and /num_local_experts disagree");
        if (local <= 0) throw error("config.invalid", r.where() + ": /num_local_experts: must be positive");
        c.n_routed_experts = local;
    }
}

/// What DeepseekV3Config's __post_init__ and attribute_map do: head_dim is
/// qk_rope_head_dim (the rotary table's width, whatever config.json says),
/// num_local_experts is n_routed_experts; and the softmax scale's mscale²
/// (yarn_apply_mscale: a RoPE scaling other than "default" with a non-zero
/// mscale_all_dim: 0.1 · mscale_all_dim · ln(factor) + 1 where factor > 1).
inline void deepseek_v3_latent(const config_reader& r, deepseek_v3_config& c) {
    c.head_dim = c.qk_rope_head_dim;
    deepseek_v3_experts_alias(r, c);
    if (const auto rs = rope_scaling_of(r)) {
        double all_dim = 0;
        rs->get("mscale_all_dim", all_dim);
        if (all_dim != 0) {
            if (!rs->has("factor") || rs->is_null("factor"))
                throw error("config.invalid", rs->where() + ": /factor: missing (mscale_all_dim scales the softmax by it)");
            double factor = 1;
            rs->get("factor", factor);
            c.mscale = factor <= 1 ? 1.0 : 0.1 * all_dim * std::log(factor) + 1.0;
        }
    }
    no_4_41_reading(r, c);
}

/// quantization_config: absent, null or empty (a float checkpoint), or
/// block-scaled FP8 (FineGrainedFP8Config): quant_method "fp8", fmt "e4m3",
/// activation_scheme "dynamic", weight_block_size [rows, cols];
/// modules_to_not_convert (ignored_layers), dequantize and scale_fmt
/// "float" change nothing the export reads (it dequantizes exactly the
/// weights stored with a weight_scale_inv). Anything else is refused by name.
inline void deepseek_v3_fp8(const config_reader& r, deepseek_v3_config& c) {
    const auto* q = r.raw("quantization_config");
    if (!q || q->is_null() || (q->is_object() && q->empty())) return;
    const std::string at = r.where() + ": /quantization_config";
    if (!q->is_object()) throw error("config.type_error", at + ": expected an object, got " + q->dump());
    const auto method = q->find("quant_method");
    if (method == q->end() || *method != "fp8")
        throw error("config.unsupported",
                    at + "/quant_method: " + (method == q->end() ? std::string("absent") : method->dump()) +
                        " is not supported (only \"fp8\": block-scaled FP8 weights, dequantized to float32 while "
                        "loading)");
    const auto lower = [](std::string s) {
        for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return s;
    };
    std::int64_t rows = 128, cols = 128;  // FineGrainedFP8Config's default weight_block_size
    for (const auto& [key, value] : q->items()) {
        const std::string where = at + "/" + key + ": " + value.dump();
        if (key == "quant_method") continue;
        if (key == "modules_to_not_convert" || key == "ignored_layers") {
            if (!value.is_null() && !value.is_array()) throw error("config.type_error", where + ": expected a list");
            continue;
        }
        if (key == "dequantize") {
            if (!value.is_boolean()) throw error("config.type_error", where + ": expected a boolean");
            continue;
        }
        if (key == "modules_to_convert" && value.is_null()) continue;
        if (key == "fmt" && value == "e4m3") continue;
        if (key == "activation_scheme" && value.is_string()) {
            const auto scheme = lower(value.get<std::string>());
            if (scheme == "dynamic") continue;
            if (scheme != "static") throw error("config.invalid", where + ": must be \"dynamic\" or \"static\"");
            throw error("config.unsupported", where + " is not supported (static activation scales; only \"dynamic\")");
        }
        if (key == "scale_fmt" && value == "float") continue;
        if (key == "expert_dtype" && value == "fp8") continue;
        if (key == "weight_block_size" && value.is_array() && value.size() == 2 && value[0].is_number_integer() &&
            value[1].is_number_integer()) {
            rows = value[0].get<std::int64_t>();
            cols = value[1].get<std::int64_t>();
            if (rows <= 0 || cols <= 0) throw error("config.invalid", where + ": must be two positive integers");
            continue;
        }
        throw error("config.unsupported",
                    where + " is not supported (a block-scaled FP8 quantization_config reads quant_method, fmt "
                            "\"e4m3\", activation_scheme \"dynamic\", weight_block_size [rows, cols], scale_fmt "
                            "\"float\", expert_dtype \"fp8\", modules_to_not_convert, dequantize)");
    }
    c.fp8_block_rows = rows;
    c.fp8_block_cols = cols;
}
}  // namespace detail

/// The keys DeepseekV3Config reads beyond the shared rows.
using deepseek_v3_keys =
    extend<deepseek_v3_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, reads<&detail::whole_head_rotary>,
           reads<&detail::llama_rope_scaling>, reads<&detail::deepseek_v3_latent>, owns<"quantization_config">,
           reads<&detail::deepseek_v3_fp8>,
           // computed by __post_init__ from qk_nope_head_dim and qk_rope_head_dim, whatever config.json says
           no_effect<"qk_head_dim", std::int64_t>,
           // the multi-token prediction modules are not part of the model Transformers builds
           no_effect<"num_nextn_predict_layers", std::int64_t>, no_effect<"num_mtp_layers", std::int64_t>,
           // LlamaConfig's, which DeepSeek-V3's model code never reads
           no_effect<"pretraining_tp", std::int64_t>,
           // training only: the router's logits for the load-balancing loss
           no_effect<"output_router_logits", bool>,
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// DeepseekV3Config from config.json, with DeepSeek-V3's defaults.
inline deepseek_v3_config deepseek_v3_config_from_json(const config_reader& r) {
    deepseek_v3_config c;
    c.vocab_size = 129280;
    c.hidden_size = 7168;
    c.intermediate_size = 18432;
    c.num_hidden_layers = 61;
    c.num_attention_heads = 128;
    c.num_key_value_heads = 128;
    c.max_position_embeddings = 4096;
    c.head_dim = 64;
    return load_config<deepseek_v3_config, deepseek_v3_keys>(r, c);
}

/// Module names of DeepSeek-V3's layer: the latent attention's, the experts'.
namespace deepseek_v3_names {
struct layer : llama_names::layer {
    static constexpr std::string_view q_a = "self_attn.q_a_proj", q_a_norm = "self_attn.q_a_layernorm",
                                      q_b = "self_attn.q_b_proj", kv_a = "self_attn.kv_a_proj_with_mqa",
                                      kv_a_norm = "self_attn.kv_a_layernorm", kv_b = "self_attn.kv_b_proj",
                                      router = "mlp.gate", experts = "mlp.experts", expert_gate = "gate_proj",
                                      expert_up = "up_proj", expert_down = "down_proj",
                                      shared_experts = "mlp.shared_experts";
};
}  // namespace deepseek_v3_names

/// Multi-head latent attention (DeepSeek-V2/V3, Mistral 4), over the
/// latent cache: see the header comment. The config is a deepseek_v3_config.
/// Names: `q` (without q_lora_rank), `q_a`, `q_a_norm`, `q_b`, `kv_a`,
/// `kv_a_norm`, `kv_b`, `o`, `attention` (the core's scope).
template <class Names>
struct latent_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t, layer_cache<typename B::value>& cache) {
        using V = typename B::value;
        const auto sh = c.shape();
        const std::int64_t Hd = sh.hidden_size, H = sh.num_heads, N = c.qk_nope_head_dim, R = c.qk_rope_head_dim,
                           Dv = c.v_head_dim, L = c.kv_lora_rank, QK = N + R, QL = c.q_lora_rank;
        constexpr float low_rank_eps = 1e-6f;  // DeepseekV3RMSNorm(rank): its default eps
        const bool bias = c.attention_bias;
        V q = QL > 0 ? linear_no_bias(b, Names::q_b,
                                      rms_norm(b, Names::q_a_norm, linear(b, Names::q_a, x, Hd, QL, bias), QL,
                                               low_rank_eps),
                                      QL, H * QK)
                     : linear_no_bias(b, Names::q, x, Hd, H * QK);
        auto qh = b.reshape(q, {0, 0, H, QK});  // [B, S, H, QK]
        auto q_pass = b.slice(qh, -1, 0, N);
        auto q_rot = b.reshape(b.slice(qh, -1, N, QK), {0, 0, H * R});
        auto kv = linear(b, Names::kv_a, x, Hd, L + R, bias);  // [B, S, L + R]
        auto latent = rms_norm(b, Names::kv_a_norm, b.slice(kv, -1, 0, L), L, low_rank_eps);
        auto k_rot = b.slice(kv, -1, L, L + R);
        V k_nope, value;
        {
            const rotary_spec r = c.rotary();
            auto guard = b.scope(Names::attention);
            auto g = b.scope("rotary");
            q_rot = apply_rotary(b, q_rot, t.sin, t.cos, H, R, r);
            k_rot = apply_rotary(b, k_rot, t.sin, t.cos, 1, R, r);
        }
        // the cache: [B, 1, T, L] and [B, 1, T, R]
        auto lat = b.unsqueeze(latent, {1}), kr = b.unsqueeze(k_rot, {1});
        if (cache.past_key) {
            lat = b.concat({*cache.past_key, lat}, 2);
            kr = b.concat({*cache.past_value, kr}, 2);
        }
        cache.key = lat;
        cache.value = kr;
        auto expanded = b.transpose(b.reshape(linear_no_bias(b, Names::kv_b, lat, L, H * (N + Dv)), {0, -1, H, N + Dv}),
                                    {0, 2, 1, 3});  // [B, H, T, N + Dv]
        V out;
        {
            auto guard = b.scope(Names::attention);
            k_nope = b.slice(expanded, -1, 0, N);
            value = b.slice(expanded, -1, N, N + Dv);
            auto every = b.concat({b.shape(k_nope, 0, 3), b.constant_i64({R})}, 0);
            auto key = b.concat({k_nope, b.expand(kr, every)}, -1);                 // [B, H, T, QK]
            auto query = b.concat({q_pass, b.reshape(q_rot, {0, 0, H, R})}, -1);  // [B, S, H, QK]
            query = b.transpose(query, {0, 2, 1, 3});                              // [B, H, S, QK]
            if (c.llama4_beta != 0) {
                // Llama 4's query scaling, per position: 1 + beta · ln(1 + floor(position / original)) [B, 1, S, 1]
                auto g2 = b.scope("query_scale");
                auto at = b.div(b.cast(t.position_ids, dtype::f32), b.scalar(static_cast<float>(c.llama4_original)));
                auto whole = b.cast(b.cast(at, dtype::i64), dtype::f32);            // toward 0
                auto floor = b.sub(whole, b.cast(b.less(at, whole), dtype::f32));  // floor (negative positions too)
                auto scale = b.add(b.scalar(1.f), b.mul(b.scalar(static_cast<float>(c.llama4_beta)),
                                                        b.log(b.add(b.scalar(1.f), floor))));
                query = b.mul(query, b.unsqueeze(scale, {1, 3}));
            }
            // keys of QK features, values of Dv: every head its own
            auto ctx = b.grouped_attention(query, key, value, &t.bias,
                                           attention_dims{H, H, QK, c.attention_scale()});  // [B, H, S, Dv]
            out = b.reshape(b.transpose(ctx, {0, 2, 1, 3}), {0, 0, H * Dv});
        }
        return linear(b, Names::o, out, H * Dv, Hd, bias);
    }
};

/// The family, validated at atol 5e-5: at the validation's random inputs
/// and caches ONNX Runtime and the reference pass differ by up to 1.1e-5
/// (the latent's expansion and the experts round differently in float32);
/// the reference still matches Transformers within 1e-5 on the fixtures.
struct deepseek_v3_family
    : llama_like_family<"deepseek_v3", deepseek_v3_config, &deepseek_v3_config_from_json,
                        decoder_block<deepseek_v3_names::layer, latent_attention<deepseek_v3_names::layer>,
                                      sparse_or_dense_mlp<deepseek_v3_names::layer>>,
                        decoder_embedding_options{}, mixtral_features, token_classifier<"score">> {
    static constexpr double atol = 5e-5;

    /// The rotary buffer, and the FP8 scales make_weights applies.
    static std::vector<std::string> ignored() { return {"rotary_emb.inv_freq", ".weight_scale_inv"}; }
    /// Block-scaled FP8 weights (quantization_config fp8): every weight
    /// stored with a weight_scale_inv, dequantized to float32; scales in a
    /// checkpoint whose config.json says nothing of them are refused by name.
    static void make_weights(const deepseek_v3_config& c, checkpoint& ck) {
        std::optional<fp8_block_size> block;
        if (c.fp8_block_rows > 0) block = fp8_block_size{c.fp8_block_rows, c.fp8_block_cols};
        auto made = dequantize_fp8_blocks(ck, block);
        if (!made->names.empty()) ck.add(made);
    }
};

}  // namespace typeformer::inline v0
