// typeformer/models/conditional_detr.hpp: Conditional DETR (`model_type`
// "conditional_detr"), DETR's family template (models/detr.hpp) with its
// own decoder, heads and keys.
//
// The backbone (Transformers' ResNet, frozen BatchNorms), the pixel mask,
// the input projection, the 2-D sine positions and the post-LN encoder are
// DETR's. The decoder differs: the num_queries learned query positions go
// through ref_point_head (a 2-layer MLP to 2) and a sigmoid, the reference
// points, whose sine embedding (d_model / 2 features of each coordinate, y
// first, scaled by 2π) is the cross-attention's spatial query, multiplied
// from the second layer on by query_scale (a 2-layer MLP) of the layer's
// input. Each layer's self-attention projects content and positions
// separately (sa_qcontent_proj + sa_qpos_proj, sa_kcontent_proj +
// sa_kpos_proj, sa_v_proj) before self_attn.out_proj; its cross-attention
// concatenates, head by head, the content query (ca_qcontent_proj, plus
// ca_qpos_proj of the query positions in the first layer only) with the
// projected sine embedding (ca_qpos_sine_proj), and the content key
// (ca_kcontent_proj, plus the projected image positions in the first layer
// only) with the projected image positions (ca_kpos_proj): heads twice as
// wide for the scores (scaled by (2·d_model / heads)^-0.5), values as
// wide as DETR's. Object detection: num_labels logits (sigmoid classes, no
// "no object" class) and boxes whose centre adds inverse_sigmoid of the
// reference points before the sigmoid.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "typeformer/models/detr.hpp"

namespace typeformer::inline v0 {

namespace detail::conditional_detr {

/// Attention whose queries and keys have heads of their own width (their
/// last axis over `heads`) and values of theirs: q [B, Sq, H·Dk], k [B, Sk,
/// H·Dk], v [B, Sk, H·Dv], the additive bias broadcast to [B, H, Sq, Sk];
/// [B, Sq, H·Dv].
template <Backend B>
typename B::value wide_attention(B& b, const typename B::value& q, const typename B::value& k,
                                 const typename B::value& v, const typename B::value* bias, std::int64_t heads,
                                 std::int64_t key_width, std::int64_t value_width, float scale) {
    auto qh = b.transpose(b.reshape(q, {0, 0, heads, key_width / heads}), {0, 2, 1, 3});    // [B, H, Sq, Dk]
    auto kh = b.transpose(b.reshape(k, {0, 0, heads, key_width / heads}), {0, 2, 3, 1});    // [B, H, Dk, Sk]
    auto vh = b.transpose(b.reshape(v, {0, 0, heads, value_width / heads}), {0, 2, 1, 3});  // [B, H, Sk, Dv]
    auto scores = b.mul(b.matmul(qh, kh), b.scalar(scale));
    if (bias) scores = b.add(scores, *bias);
    auto ctx = b.matmul(b.softmax(scores), vh);  // [B, H, Sq, Dv]
    return b.reshape(b.transpose(ctx, {0, 2, 1, 3}), {0, 0, value_width});
}

/// x [B, S, d] and y [B, S, d] joined head by head: [B, S, 2·d], head h
/// holding x's head h, then y's.
template <Backend B>
typename B::value join_heads(B& b, const typename B::value& x, const typename B::value& y, std::int64_t heads,
                             std::int64_t d) {
    return b.reshape(b.concat({b.reshape(x, {0, 0, heads, d / heads}), b.reshape(y, {0, 0, heads, d / heads})}, 3),
                     {0, 0, 2 * d});
}

/// The reference points' sine embedding: each coordinate of ref [B, Q, 2]
/// (x, y) times 2π in d_model / 2 sine features, y's first; [B, Q, d_model].
template <Backend B>
typename B::value reference_sine(B& b, const typename B::value& ref, std::int64_t d_model) {
    auto guard = b.scope("model.decoder.query_sine_embed");
    const std::int64_t D = d_model / 2;
    auto freq = b.constant_f32(detail::detr::sine_divisors(D));
    auto coordinate = [&](std::int64_t i) {
        auto p = b.mul(b.slice(ref, 2, i, i + 1), b.scalar(detail::detr::two_pi));  // [B, Q, 1]
        return detail::detr::sine_features(b, p, 3, freq, D);
    };
    return b.concat({coordinate(1), coordinate(0)}, 2);
}

/// inverse_sigmoid(x, eps=1e-5): log(max(x, eps) / max(1 - x, eps)), x
/// clamped to [0, 1] first.
template <Backend B>
typename B::value inverse_sigmoid(B& b, const typename B::value& x) {
    constexpr float eps = 1e-5f, inf = std::numeric_limits<float>::infinity();
    auto y = b.clamp(x, 0.f, 1.f);
    return b.log(b.div(b.clamp(y, eps, inf), b.clamp(b.sub(b.scalar(1.f), y), eps, inf)));
}

}  // namespace detail::conditional_detr

/// ConditionalDetrDecoder over the encoder's `hidden_states` (module names
/// as the checkpoints store them: `model.decoder.layers.<i>.sa_qcontent_proj`,
/// `.ca_qpos_sine_proj`, ...): post-LN layers, `model.decoder.layernorm`
/// after the last (and after every layer with auxiliary_loss, its output
/// feeding query_scale and the next layer). Writes the decoder's output and
/// `reference_points` [B, num_queries, 2] (after the sigmoid).
struct conditional_detr_decoder {
    using reads = slots<"hidden_states", "position_embeddings", "attention_bias", "pixel_values">;
    using writes = slots<"hidden_states", "reference_points">;

    template <Backend B>
    static void forward(B& b, io<conditional_detr_decoder, typename B::value> s, const detr_config& c) {
        namespace cd = detail::conditional_detr;
        const auto sh = c.decoder_shape();
        const auto d = c.d_model, heads = sh.num_heads;
        const auto& memory = s[sl::hidden_states];
        const auto& positions = s[slot<"position_embeddings">{}];
        const auto& bias = s[sl::attention_bias];
        auto h = detail::detr::zero_queries(b, s[slot<"pixel_values">{}], c);  // [B, Q, d]
        // the query positions repeated over the batch, as the model repeats them
        auto query_pos = b.add(h, b.unsqueeze(b.param("model.query_position_embeddings.weight", {c.num_queries, d}), {0}));
        auto ref = b.sigmoid(mlp_prediction_head(b, "model.decoder.ref_point_head", query_pos, d, d, 2, 2));
        const auto sine = cd::reference_sine(b, ref, d);
        auto norm = [&](std::string_view scope, const typename B::value& x) {
            return layer_norm(b, scope, x, d, sh.eps);
        };
        const float self_scale = static_cast<float>(std::pow(static_cast<double>(d / heads), -0.5));
        const float cross_scale = static_cast<float>(std::pow(static_cast<double>(2 * d / heads), -0.5));
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            // the spatial query: the sine embedding, scaled from the second layer on by query_scale(h)
            auto query_sine = i == 0 ? sine : b.mul(sine, mlp_prediction_head(b, "model.decoder.query_scale", h, d, d, d, 2));
            {
                auto guard = b.scope("model.decoder.layers." + std::to_string(i));
                auto proj = [&](std::string_view name, const typename B::value& x) { return dense(b, name, x, d, d); };
                {
                    auto q = b.add(proj("sa_qcontent_proj", h), proj("sa_qpos_proj", query_pos));
                    auto k = b.add(proj("sa_kcontent_proj", h), proj("sa_kpos_proj", query_pos));
                    auto ctx = b.attention(q, k, proj("sa_v_proj", h), nullptr, heads, self_scale);
                    auto out = dense(b, "self_attn.out_proj", ctx, d, d);
                    h = norm("self_attn_layer_norm", b.add(h, out));
                }
                {
                    auto q = proj("ca_qcontent_proj", h);
                    auto k = proj("ca_kcontent_proj", memory);
                    auto v = proj("ca_v_proj", memory);
                    auto k_pos = proj("ca_kpos_proj", positions);
                    if (i == 0) {
                        q = b.add(q, proj("ca_qpos_proj", query_pos));
                        k = b.add(k, k_pos);
                    }
                    auto q2 = cd::join_heads(b, q, proj("ca_qpos_sine_proj", query_sine), heads, d);
                    auto k2 = cd::join_heads(b, k, k_pos, heads, d);
                    auto ctx = cd::wide_attention(b, q2, k2, v, &bias, heads, 2 * d, d, cross_scale);
                    auto out = dense(b, "encoder_attn.out_proj", ctx, d, d);
                    h = norm("encoder_attn_layer_norm", b.add(h, out));
                }
                h = norm("final_layer_norm", b.add(h, feed_forward<detr_encoder_names>::forward(b, h, sh)));
            }
            if (c.auxiliary_loss) h = norm("model.decoder.layernorm", h);
        }
        s.set(sl::hidden_states, norm("model.decoder.layernorm", h));
        s.set(slot<"reference_points">{}, ref);
    }
};

/// ConditionalDetrForObjectDetection's heads: `logits` from
/// class_labels_classifier (num_labels: sigmoid classes, no "no object"
/// one); `pred_boxes` the sigmoid of bbox_predictor (DETR's 3-layer MLP),
/// inverse_sigmoid(reference points) added to its first two coordinates
/// (the box centre) first.
struct conditional_detr_detection_heads {
    using reads = slots<"hidden_states", "reference_points">;
    using writes = slots<"logits", "pred_boxes">;

    template <Backend B>
    static void forward(B& b, io<conditional_detr_detection_heads, typename B::value> s, const detr_config& c) {
        const auto d = c.d_model;
        const auto& h = s[sl::hidden_states];
        s.set(sl::logits, dense(b, "class_labels_classifier", h, d, c.num_labels));
        auto boxes = mlp_prediction_head(b, "bbox_predictor", h, d, d, 4, 3);
        auto guard = b.scope("reference_points");
        auto centre = b.add(b.slice(boxes, 2, 0, 2),
                            detail::conditional_detr::inverse_sigmoid(b, s[slot<"reference_points">{}]));
        s.set(slot<"pred_boxes">{}, b.sigmoid(b.concat({centre, b.slice(boxes, 2, 2, 4)}, 2)));
    }
};

/// ConditionalDetrConfig's keys: DETR's shared table and its focal loss's
/// (cls_loss_coefficient, focal_alpha; no eos_coefficient).
using conditional_detr_keys = extend<detr_config::fields, no_effect<"cls_loss_coefficient", double>,
                                     no_effect<"focal_alpha", double>>;

/// ConditionalDetrConfig from config.json: DETR's defaults but 300 queries.
inline detr_config conditional_detr_config_from_json(const config_reader& r) {
    detr_config start;
    start.num_queries = 300;
    return load_config<detr_config, conditional_detr_keys>(r, start);
}

using conditional_detr_family =
    detr_like_family<"conditional_detr", detr_style<false>, conditional_detr_decoder, conditional_detr_detection_heads,
                     &conditional_detr_config_from_json,
                     // ConditionalDetrForSegmentation: num_labels logits, and boxes without the reference points
                     detr_segmentation<"model.conditional_detr", detr_box_heads<false>>>;

}  // namespace typeformer::inline v0
