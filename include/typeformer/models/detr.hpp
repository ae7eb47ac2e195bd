// typeformer/models/detr.hpp: DETR (`model_type` "detr") and Table
// Transformer ("table-transformer"), one family template.
//
// The backbone is Transformers' ResNet or timm's (models/resnet.hpp) with
// frozen BatchNorms, run up to the stage whose feature map DETR reads; the pixel
// mask is resized (nearest) to that map; a 1x1 Conv2d projects the map to
// d_model and it is flattened into tokens, with the 2-D sine positions
// (normalised, scale 2π, temperature 10000) computed from the resized mask.
// The encoder adds the positions to its queries and keys in every layer
// and masks the padding; the decoder starts from zeros with num_queries
// learned query positions (added to the self-attention's queries and keys
// and to the cross-attention's queries; the image positions to its keys),
// and ends in a LayerNorm. DETR's layers are post-LN; Table Transformer's
// pre-LN, with a final encoder LayerNorm too. Object detection: a Linear to
// num_labels + 1 classes and a 3-layer MLP to 4 sigmoid box coordinates.
// Any image size: the graph's height and width are named axes. The family
// template takes its decoder, heads and config loader as policies:
// Conditional DETR (models/conditional_detr.hpp) replaces those three.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/conv.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"
#include "typeformer/models/resnet.hpp"

namespace typeformer::inline v0 {

/// DetrConfig (and TableTransformerConfig, the same keys; Conditional
/// DETR's, models/conditional_detr.hpp, differ in their loss's), with
/// Transformers' defaults; the backbone a ResNetConfig. The table holds the
/// keys they share; detr_keys adds DETR's own.
struct detr_config {
    resnet_config backbone{};           // backbone_config (null: ResNet-50's, out_features ["stage4"])
    std::int64_t backbone_stages = 4;   // the stages run: the last of out_features is stage<backbone_stages>
    // the stages whose maps the backbone returns, in order (0: the stem's), the last backbone_stages;
    // DetrForSegmentation's mask head reads the first three
    stage_list maps{{4}, 1};
    bool timm_backbone = false;         // timm's ResNet (weight names conv1, bn1, layer<i>.<j>.conv1, ...)
    std::int64_t output_stride = 32;    // timm's: 16 or 8 dilate the last stages instead of striding
    std::int64_t num_queries = 100;
    std::int64_t d_model = 256;
    std::int64_t encoder_layers = 6;
    std::int64_t encoder_ffn_dim = 2048;
    std::int64_t encoder_attention_heads = 8;
    std::int64_t decoder_layers = 6;
    std::int64_t decoder_ffn_dim = 2048;
    std::int64_t decoder_attention_heads = 8;
    activation activation_function = activation::relu;
    bool auxiliary_loss = false;  // the decoder's LayerNorm after every layer too (its output feeds the next)
    bool learned_positions = false;  // position_embedding_type "learned" (else "sine")
    std::int64_t num_labels = 2;

    using self = detr_config;

    static constexpr void shape_rule(const detr_config& c) {
        require(c.d_model % 4 == 0,
                "d_model must be divisible by 4 (the sine positions pair sines and cosines over d_model / 2 features)");
        require(c.backbone_stages >= 1 && c.backbone_stages <= c.backbone.hidden_sizes.size(),
                "the backbone must run at least one stage, and no more than it has");
    }
    static void read_backbone(const config_reader& r, detr_config& c);
    /// position_embedding_type: "sine" or "learned".
    static void read_positions(const config_reader& r, detr_config& c) {
        std::string type = "sine";
        r.get("position_embedding_type", type);
        if (type != "sine" && type != "learned")
            throw error("config.unsupported", r.where() + ": /position_embedding_type: \"" + type +
                                                  "\" is not supported (\"sine\" or \"learned\")");
        c.learned_positions = type == "learned";
    }

    using fields = field_table<
        internal<&self::backbone>, internal<&self::backbone_stages>, internal<&self::maps>,
        internal<&self::timm_backbone>,
        internal<&self::output_stride>, internal<&self::learned_positions>,
        field<"num_queries", &self::num_queries, rule::positive>, field<"d_model", &self::d_model, rule::positive>,
        field<"encoder_layers", &self::encoder_layers, rule::non_negative>,
        field<"encoder_ffn_dim", &self::encoder_ffn_dim, rule::positive>,
        field<"encoder_attention_heads", &self::encoder_attention_heads, rule::positive>,
        multiple_of<"d_model", "encoder_attention_heads">,
        field<"decoder_layers", &self::decoder_layers, rule::non_negative>,
        field<"decoder_ffn_dim", &self::decoder_ffn_dim, rule::positive>,
        field<"decoder_attention_heads", &self::decoder_attention_heads, rule::positive>,
        multiple_of<"d_model", "decoder_attention_heads">,
        field<"activation_function", &self::activation_function>, field<"auxiliary_loss", &self::auxiliary_loss>,
        labels<&self::num_labels>, rules<&self::shape_rule>,
        reads<&self::read_positions>,
        // whether Transformers loads the backbone's pretrained weights first: the checkpoint holds them
        no_effect<"use_pretrained_backbone", bool>,
        // training only: layer drop, the dropout after the activation, the loss and its matcher
        no_effect<"encoder_layerdrop", double>, no_effect<"decoder_layerdrop", double>,
        no_effect<"activation_dropout", double>, no_effect<"init_xavier_std", double>,
        no_effect<"class_cost", double>, no_effect<"bbox_cost", double>, no_effect<"giou_cost", double>,
        no_effect<"mask_loss_coefficient", double>, no_effect<"dice_loss_coefficient", double>,
        no_effect<"bbox_loss_coefficient", double>, no_effect<"giou_loss_coefficient", double>,
        never<"tie_encoder_decoder", "the encoder's weights tied to the decoder's (4.41's tie_weights)">,
        encoder_generic_keys, no_effect<"tie_word_embeddings", bool>,
        reads<&self::read_backbone>>;

    /// The encoder's numbers (the validation inputs read the labels from here).
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = d_model,
                .num_heads = encoder_attention_heads,
                .intermediate_size = encoder_ffn_dim,
                .num_layers = encoder_layers,
                .max_positions = std::int64_t{1} << 40,
                .type_vocab_size = 0,
                .act = activation_function,
                .eps = 1e-5f,
                .causal = false,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr encoder_shape decoder_shape() const {
        auto sh = shape();
        sh.num_heads = decoder_attention_heads;
        sh.intermediate_size = decoder_ffn_dim;
        sh.num_layers = decoder_layers;
        return sh;
    }
    /// The width of the feature map the transformer reads.
    [[nodiscard]] constexpr std::int64_t feature_channels() const {
        return backbone.hidden_sizes[backbone_stages - 1];
    }
    [[nodiscard]] constexpr image_shape image() const { return {backbone.num_channels, 0, 0, true}; }
};

/// The timm backbone of TimmBackboneConfig's keys in `r` (a
/// backbone_config of model_type "timm_backbone", or backbone_kwargs, which
/// 5.x makes one of), `name` its `backbone`: a ResNet timm_resnet_config
/// knows, features_only, its output_stride (null: 32) and out_indices
/// (default [-1]; out_features, where given, must name the same stages).
/// The transformer reads the last feature map, timm's features in module
/// order: stage max(out_indices) (index 0, the stem's, is refused); timm
/// builds no later stage. `at` is the JSON path of `r` for errors.
inline void read_timm_backbone(const config_reader& r, std::string_view at, const std::string& name,
                               detr_config& c) {
    const auto arch = timm_resnet_config(name);
    if (!arch)
        throw error("config.unsupported", r.where() + ": /backbone: \"" + name +
                                              "\" is not supported (timm's resnet18, resnet34, resnet50, resnet101 "
                                              "and resnet152 are)");
    c.backbone = *arch;
    c.backbone.frozen_batch_norm = true;
    c.timm_backbone = true;
    r.get("num_channels", c.backbone.num_channels);
    if (c.backbone.num_channels < 1)
        throw error("config.invalid", r.where() + ": " + std::string(at) + "/num_channels must be positive");
    bool features_only = true;
    r.get("features_only", features_only);
    if (!features_only)
        throw error("config.unsupported", r.where() + ": " + std::string(at) +
                                              "/features_only: false is not supported (DETR reads feature maps)");
    c.output_stride = 32;
    if (r.has("output_stride")) r.get("output_stride", c.output_stride);
    if (c.output_stride != 8 && c.output_stride != 16 && c.output_stride != 32)
        throw error("config.invalid", r.where() + ": " + std::string(at) + "/output_stride: " +
                                          std::to_string(c.output_stride) + " (timm's ResNet takes 8, 16 or 32)");
    std::vector<std::int64_t> indices{-1};
    if (r.has("out_indices")) r.get("out_indices", indices);
    if (indices.empty())
        throw error("config.invalid", r.where() + ": " + std::string(at) + "/out_indices is empty");
    static constexpr std::string_view names[] = {"act1", "layer1", "layer2", "layer3", "layer4"};
    std::vector<std::string> wanted;
    std::vector<std::int64_t> stages;
    for (auto i : indices) {
        const auto k = i < 0 ? i + 5 : i;
        if (k < 0 || k > 4)
            throw error("config.invalid", r.where() + ": " + std::string(at) + "/out_indices: " + std::to_string(i) +
                                              " is out of range (timm's ResNet has 5 feature maps)");
        wanted.emplace_back(names[k]);
        stages.push_back(k);
    }
    std::ranges::sort(stages);  // timm returns the maps in the network's order
    stages.erase(std::unique(stages.begin(), stages.end()), stages.end());
    const auto last = stages.back();
    std::vector<std::string> features;
    for (const char* key : {"_out_features", "out_features"})
        if (r.has(key)) r.get_list(key, features, ',');
    if (!features.empty() && features != wanted)
        throw error("config.unsupported", r.where() + ": " + std::string(at) +
                                              "/out_features does not name the stages of out_indices");
    if (last == 0)
        throw error("config.unsupported", r.where() + ": " + std::string(at) +
                                              "/out_indices: the stem's feature map alone (index 0) is not supported");
    c.backbone_stages = last;
    c.maps = {};
    for (auto k : stages) c.maps.values[static_cast<std::size_t>(c.maps.count++)] = k;
    // what timm reads no further: the stage names it reports, its own frozen BatchNorm (which
    // computes as DETR's), in_chans beside num_channels (TimmBackbone passes num_channels)
    for (const char* key : {"stage_names", "freeze_batch_norm_2d", "in_chans", "use_pretrained_backbone"})
        (void)r.has(key);
}

/// The backbone, as Transformers 5.x's DetrConfig builds it:
///   - backbone_config a ResNetConfig (Transformers' own backbone), read as
///     the resnet family reads one, its BatchNorms frozen; the transformer
///     reads the feature map of the last of its out_features, which must be
///     a stage (the later stages' weights would be left unread);
///   - backbone_config a TimmBackboneConfig ("timm_backbone"): timm's
///     ResNet (read_timm_backbone);
///   - no backbone_config, use_timm_backbone true (the default) and no
///     backbone_kwargs: timm's `backbone` (default "resnet50") with the
///     top-level num_channels, out_indices [1, 2, 3, 4] and, with dilation,
///     output_stride 16;
///   - no backbone_config, a `backbone` name and backbone_kwargs (or
///     use_timm_backbone false): TimmBackboneConfig(backbone,
///     **backbone_kwargs), as 5.x does for a name that is not a Hub
///     repository (dilation and the top-level num_channels are not read);
///   - neither: Transformers' ResNet-50 with out_features ["stage4"].
/// Transformers 4.41 builds a timm backbone with timm's own arguments
/// (in_chans, dilation beside backbone_kwargs), not followed here: refused.
inline void detr_config::read_backbone(const config_reader& r, detr_config& c) {
    bool timm = true;
    r.get("use_timm_backbone", timm);
    std::string name;
    const bool named = r.has("backbone");
    if (named) r.get("backbone", name);
    std::optional<config_reader> kwargs;
    const bool with_kwargs = r.child("backbone_kwargs", kwargs) && !kwargs->object().empty();
    bool dilation = false;
    r.get("dilation", dilation);
    std::int64_t num_channels = 3;
    r.get("num_channels", num_channels);
    std::optional<config_reader> sub;
    const bool v4 = r.follows() == follow_transformers::v4_41;
    if (!r.child("backbone_config", sub)) {
        if (v4 && (timm || named))
            throw error("config.unsupported",
                        r.where() + (timm ? ": /use_timm_backbone" : ": /backbone") +
                            ": a backbone Transformers 4.41 builds with timm's own arguments is not supported "
                            "(Transformers 5's reading is)");
        if (timm && !with_kwargs) {
            auto defaults = nlohmann::json{{"num_channels", num_channels}, {"out_indices", {1, 2, 3, 4}}};
            if (dilation) defaults["output_stride"] = 16;
            read_timm_backbone(config_reader(defaults, r.where()), "", named ? name : "resnet50", c);
            return;
        }
        if (named) {
            static const nlohmann::json none = nlohmann::json::object();
            read_timm_backbone(kwargs ? *kwargs : config_reader(none, r.where()), "/backbone_kwargs", name, c);
            return;
        }
        c.backbone = resnet_config{};  // ResNetConfig(out_features=["stage4"])
        c.backbone.frozen_batch_norm = true;
        c.backbone_stages = 4;
        c.maps = {{4}, 1};
        return;
    }
    // beside a backbone_config, 5.x ignores the name and the keyword arguments and 4.41 refuses them
    if (named)
        throw error("config.unsupported", r.where() + ": /backbone: \"" + name +
                                              "\" beside a backbone_config is not supported (the export builds the "
                                              "backbone backbone_config describes)");
    if (with_kwargs)
        throw error("config.unsupported", r.where() + ": /backbone_kwargs beside a backbone_config is not supported "
                                                      "(keyword arguments for a backbone loaded by name)");
    std::string type;
    sub->get("model_type", type);
    if (type == "timm_backbone") {
        std::string timm_name;
        sub->get("backbone", timm_name);
        read_timm_backbone(*sub, "/backbone_config", timm_name, c);
        return;
    }
    if (type != "resnet")
        throw error("config.unsupported", r.where() + ": /backbone_config/model_type: \"" + type +
                                              "\" is not supported (Transformers' ResNet, \"resnet\", and timm's "
                                              "ResNets, \"timm_backbone\", are)");
    if (timm && v4)
        throw error("config.unsupported", r.where() + ": /use_timm_backbone: true with a backbone_config is not "
                                                      "supported (Transformers 4.41 refuses the pair)");
    // 4.41 builds a backbone config that says use_timm_backbone as a timm backbone
    sub->require_false("use_timm_backbone", "a timm backbone, which the timm package builds");
    c.backbone = load_config<resnet_config>(*sub);
    c.backbone.frozen_batch_norm = true;
    std::vector<std::string> features;
    for (const char* key : {"_out_features", "out_features"})
        if (sub->has(key) && !sub->is_null(key)) sub->get_list(key, features, ',');
    const auto stages = c.backbone.hidden_sizes.size();
    if (features.empty()) features.push_back("stage" + std::to_string(stages));  // the backbone's default: the last
    const auto& last = features.back();
    if (last != "stage" + std::to_string(stages))
        throw error("config.unsupported",
                    r.where() + ": /backbone_config/out_features: the last is \"" + last +
                        "\"; only the last stage's (\"stage" + std::to_string(stages) +
                        "\") is supported (the later stages' weights would be left unread)");
    c.backbone_stages = stages;
    // the maps ResNetBackbone returns: those of out_features, in the network's order ("stem": the embedder's)
    std::vector<std::int64_t> maps;
    for (const auto& f : features) {
        if (f == "stem") maps.push_back(0);
        else if (f.size() == 6 && f.starts_with("stage") && f[5] >= '1' && f[5] <= '8') maps.push_back(f[5] - '0');
        else
            throw error("config.unsupported",
                        r.where() + ": /backbone_config/out_features: \"" + f + "\" is not a stage of the backbone");
    }
    std::ranges::sort(maps);
    maps.erase(std::unique(maps.begin(), maps.end()), maps.end());
    if (maps.size() > stage_list::capacity || maps.back() != stages)
        throw error("config.unsupported", r.where() + ": /backbone_config/out_features: not a list of the stages");
    c.maps = {};
    for (auto k : maps) c.maps.values[static_cast<std::size_t>(c.maps.count++)] = k;
}

/// DETR's family: `PreLN` false (DETR: post-LN layers, a final decoder
/// LayerNorm) or true (Table Transformer: pre-LN layers, final encoder and
/// decoder LayerNorms); `Positions` the module of the learned positions
/// (Transformers 5 writes DETR's at the model, Table Transformer's in the
/// backbone).
template <bool PreLN, fixed_string Positions = "model.position_embedding">
struct detr_style {
    static constexpr bool pre_ln = PreLN;
    static constexpr std::string_view positions = Positions.view();
};

namespace detail::detr {

/// nn.MultiheadAttention-like DetrAttention at `scope`: q_proj(query),
/// k_proj(key), v_proj(value), scores scaled by head_dim^-0.5, the additive
/// bias (null: none), out_proj.
template <Backend B>
typename B::value attention(B& b, std::string_view scope, const typename B::value& query,
                            const typename B::value& key, const typename B::value& value,
                            const typename B::value* bias, const encoder_shape& sh) {
    auto guard = b.scope(scope);
    const auto d = sh.hidden_size;
    auto q = dense(b, "q_proj", query, d, d);
    auto k = dense(b, "k_proj", key, d, d);
    auto v = dense(b, "v_proj", value, d, d);
    const float scale = static_cast<float>(std::pow(static_cast<double>(d / sh.num_heads), -0.5));
    return dense(b, "out_proj", b.attention(q, k, v, bias, sh.num_heads, scale), d, d);
}

inline constexpr float two_pi = static_cast<float>(2 * std::numbers::pi);

/// 10000^(2·floor(k / 2) / D) for k < D: the sine features' divisors.
inline std::vector<float> sine_divisors(std::int64_t D) {
    std::vector<float> dim_t(static_cast<std::size_t>(D));
    for (std::int64_t i = 0; i < D; ++i) {
        const float e = static_cast<float>(2 * (i / 2)) / static_cast<float>(D);
        dim_t[static_cast<std::size_t>(i)] = std::pow(10000.f, e);
    }
    return dim_t;
}

/// The D sine features of positions p [..., 1] of rank `rank` (already
/// scaled): feature k is p / freq[k], its sine for even k, its cosine for
/// odd k (freq the constant sine_divisors(D)); [..., D].
template <Backend B>
typename B::value sine_features(B& b, const typename B::value& p, std::int64_t rank, const typename B::value& freq,
                                std::int64_t D) {
    std::vector<std::int64_t> pairs(static_cast<std::size_t>(rank - 1), 0), whole = pairs;
    pairs.insert(pairs.end(), {D / 2, 2});
    whole.push_back(D);
    auto x = b.reshape(b.div(p, freq), pairs);  // [..., D/2, 2]
    auto sc = b.concat({b.sin(b.slice(x, rank, 0, 1)), b.cos(b.slice(x, rank, 1, 2))}, rank);
    return b.reshape(sc, whole);
}

/// DetrSinePositionEmbedding(d_model / 2, normalize=True) of the mask
/// [B, h, w] (float 0/1), as tokens [B, h·w, d_model]: y and x the running
/// sums of the mask down the rows and along the columns, each divided by
/// its last value + 1e-6 and times 2π; feature k of either at position p is
/// p / 10000^(2·floor(k / 2) / D), sine for even k, cosine for odd; the y
/// features first.
template <Backend B>
typename B::value sine_positions(B& b, const typename B::value& mask, std::int64_t d_model) {
    auto guard = b.scope("position_embedding");
    const std::int64_t D = d_model / 2;
    auto freq = b.constant_f32(sine_divisors(D));
    auto embed = [&](std::int64_t axis) {
        auto running = b.cumsum(mask, axis);
        auto last = b.slice(running, axis, -1, std::numeric_limits<std::int64_t>::max());
        auto norm = b.mul(b.div(running, b.add(last, b.scalar(1e-6f))), b.scalar(two_pi));
        return sine_features(b, b.unsqueeze(norm, {3}), 4, freq, D);
    };
    auto pos = b.concat({embed(1), embed(2)}, 3);  // [B, h, w, d_model]
    return b.reshape(pos, {0, -1, d_model});
}

/// DetrLearnedPositionEmbedding(d_model / 2) at `scope` for the feature
/// map [B, C, h, w], as tokens [B, h·w, d_model]: pixel (y, x) is
/// column_embeddings[x] then row_embeddings[y] (50 rows each: a map over
/// 50 pixels high or wide has no position, and the lookup fails, as in
/// Transformers).
template <Backend B>
typename B::value learned_positions(B& b, std::string_view scope, const typename B::value& map,
                                    std::int64_t d_model) {
    auto guard = b.scope(scope);
    const auto D = d_model / 2;
    auto x = b.gather(b.param("column_embeddings.weight", {50, D}), b.range(map, 3));  // [w, D]
    auto y = b.gather(b.param("row_embeddings.weight", {50, D}), b.range(map, 2));     // [h, D]
    auto grid = b.concat({b.shape(map, 0, 1), b.shape(map, 2, 4), b.constant_i64({D})}, 0);  // [B, h, w, D]
    auto pos = b.concat({b.expand(b.unsqueeze(x, {0, 1}), grid), b.expand(b.unsqueeze(y, {0, 2}), grid)}, 3);
    return b.reshape(pos, {0, -1, d_model});
}

/// The decoder's first input: zeros [B, num_queries, d_model], B the
/// batch of `pixels`.
template <Backend B>
typename B::value zero_queries(B& b, const typename B::value& pixels, const detr_config& c) {
    auto guard = b.scope("model.decoder.queries");
    auto shape = b.concat({b.shape(pixels, 0, 1), b.constant_i64({c.num_queries, c.d_model})}, 0);
    return b.expand(b.reshape(b.scalar(0.f), {1, 1, 1}), shape);
}

}  // namespace detail::detr

/// The backbone, the mask, the projection and the positions: pixel_values
/// and pixel_mask to `hidden_states` [B, h·w, d_model] (the projected
/// feature map's pixels, row by row), `position_embeddings` (the same
/// shape) and `attention_bias` [B, 1, 1, h·w] (finfo.min at padding).
/// What DetrForSegmentation's mask head (detr_mask_head) needs of the
/// config, checked before any weight is read: three backbone maps of
/// stages (not the stem's) for its FPN, and widths its GroupNorms divide
/// (d_model + encoder_attention_heads a multiple of 8, then d_model / 2
/// ... d_model / 16, each a multiple of min(8, itself) and at least 1), as
/// Transformers requires when it builds the model.
inline void check_mask_head(const detr_config& c) {
    if (c.maps.size() < 3 || c.maps[0] < 1)
        throw error("config.unsupported",
                    "image-segmentation needs three feature maps of backbone stages before the last one the "
                    "transformer reads (the backbone's out_features or out_indices list " +
                        std::to_string(c.maps.size()) +
                        (c.maps.size() > 0 && c.maps[0] < 1 ? ", the first the stem's)" : ")"));
    const auto d = c.d_model;
    const bool input_ok = (d + c.encoder_attention_heads) % 8 == 0;  // DetrMaskHeadSmallConv's own check
    for (const auto width : {d / 2, d / 4, d / 8, d / 16})
        if (!input_ok || width < 1 || width % std::min<std::int64_t>(8, width) != 0)
            throw error("config.invalid", "image-segmentation: d_model + encoder_attention_heads must be a multiple "
                                          "of 8, and the mask head's widths d_model / 2 down to d_model / 16 "
                                          "multiples of 8 or below 8 and positive; d_model " +
                                              std::to_string(d) + ", encoder_attention_heads " +
                                              std::to_string(c.encoder_attention_heads));
}

template <class Style, bool Segmentation = false>
struct detr_backbone {
    using reads = slots<"pixel_values", "pixel_mask">;
    using writes = std::conditional_t<
        Segmentation,
        slots<"hidden_states", "position_embeddings", "attention_bias", "projected_map", "fpn_map_0", "fpn_map_1",
              "fpn_map_2">,
        slots<"hidden_states", "position_embeddings", "attention_bias">>;

    template <Backend B>
    static void forward(B& b, io<detr_backbone, typename B::value> s, const detr_config& c) {
        if constexpr (Segmentation) check_mask_head(c);
        const auto& pixels = s[slot<"pixel_values">{}];
        typename B::value features;
        std::vector<typename B::value> stage_maps;  // stage_maps[i]: stage i + 1's
        {
            auto guard = b.scope("model.backbone.conv_encoder.model");
            if (c.timm_backbone) {
                features = timm_resnet_stem(b, pixels, c.backbone);
                for (std::int64_t i = 0; i < c.backbone_stages; ++i)
                    stage_maps.push_back(features = timm_resnet_stage::forward(b, features, c.backbone, i,
                                                                               c.output_stride));
            } else {
                features = resnet_stem(b, pixels, c.backbone);
                for (std::int64_t i = 0; i < c.backbone_stages; ++i) {
                    auto stage = b.scope("encoder.stages." + std::to_string(i));
                    stage_maps.push_back(features = resnet_stage::forward(b, features, c.backbone, i));
                }
            }
        }
        if constexpr (Segmentation) {
            // DetrForSegmentation's FPN reads the backbone's first three maps, the third first
            s.set(slot<"fpn_map_0">{}, stage_maps[static_cast<std::size_t>(c.maps[2] - 1)]);
            s.set(slot<"fpn_map_1">{}, stage_maps[static_cast<std::size_t>(c.maps[1] - 1)]);
            s.set(slot<"fpn_map_2">{}, stage_maps[static_cast<std::size_t>(c.maps[0] - 1)]);
        }
        typename B::value mask;  // [B, h, w], 1 on the image, 0 on the padding
        {
            // F.interpolate(pixel_mask[None].float(), size=map's).to(bool)[0]
            auto guard = b.scope("pixel_mask");
            auto m = b.unsqueeze(b.cast(s[slot<"pixel_mask">{}], dtype::f32), {1});
            m = b.resize_to(m, b.shape(features, 2, 4), resize_mode::nearest, false);
            mask = b.select(b.cast(b.not_equal(m, b.scalar(0.f)), dtype::f32), 1, 0);
        }
        const auto d = c.d_model;
        typename B::value tokens;
        {
            auto guard = b.scope("model.input_projection");
            const auto& w = b.param("weight", {d, c.feature_channels(), 1, 1});
            const auto& bias = b.param("bias", {d});
            auto projected = b.conv2d(features, w, &bias, hw{}, pads2d{}, hw{}, 1);
            tokens = b.transpose(b.reshape(projected, {0, d, -1}), {0, 2, 1});
            if constexpr (Segmentation) s.set(slot<"projected_map">{}, projected);
        }
        s.set(sl::hidden_states, tokens);
        s.set(slot<"position_embeddings">{}, c.learned_positions
                                                 ? detail::detr::learned_positions(b, Style::positions, features, d)
                                                 : detail::detr::sine_positions(b, mask, d));
        auto guard = b.scope("extended_attention_mask");
        s.set(sl::attention_bias, attention_bias(b, b.reshape(mask, {0, -1}), false));
    }
};

/// What every encoder layer reads besides its input: the padding's bias
/// and the image positions.
template <class V>
struct detr_encoder_context {
    V bias, positions;
};
struct detr_encoder_inputs {
    using reads = slots<"attention_bias", "position_embeddings">;
    template <Backend B, class Io, class C>
    static detr_encoder_context<typename B::value> make(B&, const Io& s, const C&) {
        return {s[sl::attention_bias], s[slot<"position_embeddings">{}]};
    }
};

/// DetrEncoderLayer's self-attention: the positions added to the queries
/// and keys, not the values.
struct detr_self_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x,
                                     const detr_encoder_context<typename B::value>& ctx, const encoder_shape& sh) {
        auto qk = b.add(x, ctx.positions);
        return detail::detr::attention(b, "self_attn", qk, qk, x, &ctx.bias, sh);
    }
};

/// DetrEncoderLayer's module names (under "model.encoder.layers").
struct detr_encoder_names {
    static constexpr std::string_view stack = "model.encoder.layers", attn_norm = "self_attn_layer_norm",
                                      ffn_in = "fc1", ffn_out = "fc2", out_norm = "final_layer_norm";
};

/// The encoder: encoder_layers blocks, post-LN (DETR) or pre-LN (Table
/// Transformer, then its final `model.encoder.layernorm`).
template <class Style>
using detr_encoder = encoder_stack<
    detr_encoder_names,
    encoder_block<detr_encoder_names, detr_self_attention, feed_forward<detr_encoder_names>,
                  Style::pre_ln ? norm_placement::pre : norm_placement::post>,
    detr_encoder_inputs>;

/// The decoder over the encoder's `hidden_states`: queries start at zero
/// [B, num_queries, d_model]; each layer at `model.decoder.layers.<i>` runs
/// self-attention (the learned query positions
/// `model.query_position_embeddings` added to its queries and keys),
/// cross-attention (query positions on the queries, image positions on the
/// keys, the padding masked) and the feed-forward, post-LN or pre-LN as
/// Style says; `model.decoder.layernorm` after the last layer (and after
/// every layer with auxiliary_loss, its output feeding the next).
template <class Style>
struct detr_decoder {
    using reads = slots<"hidden_states", "position_embeddings", "attention_bias", "pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<detr_decoder, typename B::value> s, const detr_config& c) {
        const auto sh = c.decoder_shape();
        const auto d = c.d_model;
        const auto& memory = s[sl::hidden_states];
        const auto& positions = s[slot<"position_embeddings">{}];
        const auto& bias = s[sl::attention_bias];
        auto query_pos = b.unsqueeze(b.param("model.query_position_embeddings.weight", {c.num_queries, d}), {0});
        auto h = detail::detr::zero_queries(b, s[slot<"pixel_values">{}], c);
        auto norm = [&](std::string_view scope, const typename B::value& x) {
            return layer_norm(b, scope, x, d, sh.eps);
        };
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            {
            auto guard = b.scope("model.decoder.layers." + std::to_string(i));
            auto self_attn = [&](const typename B::value& x) {
                auto qk = b.add(x, query_pos);
                return detail::detr::attention(b, "self_attn", qk, qk, x, nullptr, sh);
            };
            auto cross_attn = [&](const typename B::value& x) {
                return detail::detr::attention(b, "encoder_attn", b.add(x, query_pos), b.add(memory, positions),
                                               memory, &bias, sh);
            };
            auto ffn = [&](const typename B::value& x) { return feed_forward<detr_encoder_names>::forward(b, x, sh); };
            if constexpr (Style::pre_ln) {
                h = b.add(h, self_attn(norm("self_attn_layer_norm", h)));
                h = b.add(h, cross_attn(norm("encoder_attn_layer_norm", h)));
                h = b.add(h, ffn(norm("final_layer_norm", h)));
            } else {
                h = norm("self_attn_layer_norm", b.add(h, self_attn(h)));
                h = norm("encoder_attn_layer_norm", b.add(h, cross_attn(h)));
                h = norm("final_layer_norm", b.add(h, ffn(h)));
            }
            }
            if (c.auxiliary_loss) h = norm("model.decoder.layernorm", h);
        }
        s.set(sl::hidden_states, norm("model.decoder.layernorm", h));
    }
};

/// DetrForObjectDetection's heads over the decoder's output: `logits` from
/// class_labels_classifier (num_labels + 1 with `NoObject`, DETR's "no
/// object" class; num_labels without, ConditionalDetrForSegmentation's),
/// `pred_boxes` the sigmoid of bbox_predictor (Linear, ReLU, Linear, ReLU,
/// Linear to 4).
template <bool NoObject>
struct detr_box_heads {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits", "pred_boxes">;

    template <Backend B>
    static void forward(B& b, io<detr_box_heads, typename B::value> s, const detr_config& c) {
        const auto d = c.d_model;
        const auto& h = s[sl::hidden_states];
        s.set(sl::logits, dense(b, "class_labels_classifier", h, d, c.num_labels + (NoObject ? 1 : 0)));
        s.set(slot<"pred_boxes">{}, b.sigmoid(mlp_prediction_head(b, "bbox_predictor", h, d, d, 4, 3)));
    }
};
using detr_detection_heads = detr_box_heads<true>;

/// A layer run under `Scope` (its weights' names under it): DETR's own
/// layers inside DetrForSegmentation, at `detr.`.
template <fixed_string Scope, class Layer>
struct scoped_layer {
    using reads = typename Layer::reads;
    using writes = typename Layer::writes;
    template <Backend B, class C>
    static void forward(B& b, io<scoped_layer, typename B::value> s, const C& c) {
        auto guard = b.scope(Scope.view());
        Layer::forward(b, s.template as<Layer>(), c);
    }
};

/// DetrForSegmentation's masks (`pred_masks` [B, num_queries, H, W], H x W
/// the first backbone map's size): `bbox_attention` (DetrMHAttentionMap:
/// `q_linear` of the decoder's output and `k_linear` of the encoder's, per
/// head, scores scaled by head_dim^-0.5, the padding masked, one softmax
/// over every head and pixel of a query) gives encoder_attention_heads maps
/// per query; `mask_head` (DetrMaskHeadSmallConv) runs, per query, the
/// projected feature map joined with them through `lay1`/`gn1`,
/// `lay2`/`gn2` (3x3 Conv2d, GroupNorm(min(8, C)), activation_function),
/// then three FPN steps: `adapter<k>` (1x1) of the backbone's map (third,
/// second, first) plus the running map resized to it (nearest), then
/// `lay<k+2>`/`gn<k+2>`, halving the width each time (d_model / 2 down to
/// d_model / 16), and `out_lay` (3x3 to one channel).
struct detr_mask_head {
    using reads = slots<"hidden_states", "encoder_memory", "attention_bias", "projected_map", "fpn_map_0",
                        "fpn_map_1", "fpn_map_2">;
    using writes = slots<"pred_masks">;

    template <Backend B>
    static void forward(B& b, io<detr_mask_head, typename B::value> s, const detr_config& c) {
        using V = typename B::value;
        const auto d = c.d_model, heads = c.encoder_attention_heads, hd = d / heads, Q = c.num_queries;
        const auto& projected = s[slot<"projected_map">{}];  // [B, d, h, w]
        V maps;                                               // [B·Q, heads, h, w]
        {
            auto guard = b.scope("bbox_attention");
            auto q = b.reshape(dense(b, "q_linear", s[sl::hidden_states], d, d), {0, 0, heads, hd});
            auto k = b.reshape(dense(b, "k_linear", s[slot<"encoder_memory">{}], d, d), {0, 0, heads, hd});
            q = b.mul(b.transpose(q, {0, 2, 1, 3}), b.scalar(static_cast<float>(std::pow(double(hd), -0.5))));
            auto scores = b.add(b.matmul(q, b.transpose(k, {0, 2, 3, 1})), s[sl::attention_bias]);  // [B, heads, Q, hw]
            auto weights = b.softmax(b.reshape(b.transpose(scores, {0, 2, 1, 3}), {0, 0, -1}));
            maps = b.reshape(weights, b.concat({b.constant_i64({-1, heads}), b.shape(projected, 2, 4)}, 0));
        }
        auto guard = b.scope("mask_head");
        // a map [B, C, H, W] for every query: [B·Q, C, H, W]
        auto per_query = [&](const V& x, std::int64_t channels) {
            auto to = b.concat({b.shape(x, 0, 1), b.constant_i64({Q}), b.shape(x, 1, 4)}, 0);
            return b.reshape(b.expand(b.unsqueeze(x, {1}), to),
                             b.concat({b.constant_i64({-1, channels}), b.shape(x, 2, 4)}, 0));
        };
        auto block = [&](int k, const V& x, std::int64_t in, std::int64_t out) {
            auto y = conv2d_module(b, "lay" + std::to_string(k), x,
                                   {.in = in, .out = out, .kernel = 3, .padding = 1, .bias = true});
            y = group_norm_module(b, "gn" + std::to_string(k), y, out, std::min<std::int64_t>(8, out));
            return activate(b, c.activation_function, y);
        };
        auto x = b.concat({per_query(projected, d), maps}, 1);
        x = block(1, x, d + heads, d + heads);
        x = block(2, x, d + heads, d / 2);
        const V* fpn[] = {&s[slot<"fpn_map_0">{}], &s[slot<"fpn_map_1">{}], &s[slot<"fpn_map_2">{}]};
        for (int k = 0; k < 3; ++k) {
            const auto width = d >> (k + 1);
            const auto fpn_channels = c.backbone.hidden_sizes[c.maps[2 - k] - 1];
            auto adapted = conv2d_module(b, "adapter" + std::to_string(k + 1), per_query(*fpn[k], fpn_channels),
                                         {.in = fpn_channels, .out = width, .kernel = 1, .bias = true});
            x = b.add(adapted, b.resize_to(x, b.shape(adapted, 2, 4), resize_mode::nearest, false));
            x = block(k + 3, x, width, width / 2);
        }
        auto out = conv2d_module(b, "out_lay", x, {.in = d / 16, .out = 1, .kernel = 3, .padding = 1, .bias = true});
        s.set(slot<"pred_masks">{},
              b.reshape(out, b.concat({b.constant_i64({-1, Q}), b.shape(out, 2, 4)}, 0)));
    }
};

/// DetrConfig's (TableTransformerConfig's) keys: the shared table and the
/// loss's no-object weight.
using detr_keys = extend<detr_config::fields, no_effect<"eos_coefficient", double>>;

/// DetrConfig (TableTransformerConfig) from config.json.
inline detr_config detr_config_from_json(const config_reader& r) { return load_config<detr_config, detr_keys>(r); }

/// DETR's family template: the model type, the layers' style and the
/// policies a DETR variant replaces: its decoder (a layer writing
/// `hidden_states`), its object-detection heads and its config loader. The
/// backbone, the sine positions and the encoder are DETR's.
/// A DETR variant's ...ForSegmentation: where its DETR's weights are
/// (`Scope`, under the base prefix) and the heads that give its logits and
/// boxes there; `Exported` false: the variant has none (Table Transformer).
template <fixed_string Scope, class Heads, bool Exported = true>
struct detr_segmentation {
    static constexpr auto scope = Scope;
    using heads = Heads;
    static constexpr bool exported = Exported;
};
using no_detr_segmentation = detr_segmentation<"model", detr_detection_heads, false>;

template <fixed_string ModelType, class Style, class Decoder = detr_decoder<Style>,
          class DetectionHeads = detr_detection_heads, auto Load = &detr_config_from_json,
          class Segmentation = no_detr_segmentation>
struct detr_like_family
    : family_base<ModelType, "model", detr_config, Load,
                  std::conditional_t<Segmentation::exported,
                                     type_list<task::default_, task::object_detection, task::image_segmentation>,
                                     type_list<task::default_, task::object_detection>>> {
    /// BatchNorm's step counter (training only).
    static std::vector<std::string> ignored() { return {"num_batches_tracked"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>, input<"pixel_mask", dtype::i64, axes<"batch", "height", "width">>>;

    using trunk = concat<type_list<detr_backbone<Style>, detr_encoder<Style>>,
                         std::conditional_t<Style::pre_ln, type_list<final_layer_norm<"model.encoder.layernorm">>,
                                            type_list<>>,
                         type_list<Decoder>>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::object_detection) -> concat<trunk, type_list<DetectionHeads>>;
    /// ...ForSegmentation: its DETR at Segmentation::scope (DETR's
    /// `detr.`, read under the base prefix, as a checkpoint without model.*
    /// tensors is: model.detr.*), the mask head beside it.
    template <class Layer>
    using in_detr = scoped_layer<Segmentation::scope, Layer>;
    static auto layers(task::image_segmentation)
        -> concat<type_list<in_detr<detr_backbone<Style, true>>, in_detr<detr_encoder<Style>>>,
                  std::conditional_t<Style::pre_ln, type_list<in_detr<final_layer_norm<"model.encoder.layernorm">>>,
                                     type_list<>>,
                  // the encoder's output kept for the mask head (the decoder replaces hidden_states)
                  type_list<rename_slot<"hidden_states", "encoder_memory">, in_detr<Decoder>, in_detr<typename Segmentation::heads>,
                            scoped_layer<"model", detr_mask_head>>>;
    /// last_hidden_state [batch, num_queries, d_model]: the decoder's.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
};

using detr_family =
    detr_like_family<"detr", detr_style<false>, detr_decoder<detr_style<false>>, detr_detection_heads,
                     &detr_config_from_json, detr_segmentation<"model.detr", detr_detection_heads>>;
using table_transformer_family =
    detr_like_family<"table-transformer", detr_style<true, "model.backbone.position_embedding">>;

}  // namespace typeformer::inline v0
