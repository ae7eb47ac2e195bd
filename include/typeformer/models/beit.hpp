// typeformer/models/beit.hpp: BEiT (`model_type` "beit") and Data2VecVision
// ("data2vec-vision"), one family template under two names.
//
// ViT's patch embeddings and pre-LN blocks, with BEiT's switches: learned
// absolute positions only with `use_absolute_position_embeddings`; a
// relative position bias added to the attention scores, each layer's own
// (`use_relative_position_bias`) and/or one for all layers
// (`use_shared_relative_position_bias`), gathered from its table at a
// constant index (layers/vision.hpp); no bias on the key projection; layer
// scale (`lambda_1`, `lambda_2`) where `layer_scale_init_value` > 0. The
// final hidden states are LayerNorm'ed (`layernorm`) unless the model pools
// by the mean of the patch tokens (`use_mean_pooling`), whose pooler then
// LayerNorms that mean (`pooler.layernorm`); otherwise the pooler is the
// class token. The classifier reads the pooler. Data2VecVision is the same
// model under the prefix `data2vec_vision`.
//
// The relative bias is built for the config's patch grid, and the learned
// positions for the config's image size: a model with either takes that one
// size, and its graph says so. A model with neither (no position
// information at all) takes any size, as Transformers does.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// BeitConfig and Data2VecVisionConfig (the same keys and defaults).
struct beit_config {
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    double layer_norm_eps = 1e-12;
    std::int64_t image_size = 224;
    std::int64_t patch_size = 16;
    std::int64_t num_channels = 3;
    bool use_absolute_position_embeddings = false;
    bool use_relative_position_bias = false;
    bool use_shared_relative_position_bias = false;
    double layer_scale_init_value = 0.1;
    bool use_mean_pooling = true;
    std::int64_t head_dim = 0;  // 0: hidden_size / num_attention_heads
    std::int64_t num_labels = 2;

    using self = beit_config;

    static constexpr void shape_rule(const beit_config& c) {
        vit_like_rules(c);
    }

    /// The keys both model types read; beit_keys and data2vec_vision_keys
    /// add head_dim (BEiT's attention reads it, Data2VecVision's does not).
    using fields = extend<
        vit_core_rows<self>,
        field<"use_absolute_position_embeddings", &self::use_absolute_position_embeddings>,
        field<"use_relative_position_bias", &self::use_relative_position_bias>,
        field<"use_shared_relative_position_bias", &self::use_shared_relative_position_bias>,
        field<"layer_scale_init_value", &self::layer_scale_init_value>,
        field<"use_mean_pooling", &self::use_mean_pooling>, internal<&self::head_dim, rule::non_negative, "head_dim">,
        rules<&self::shape_rule>, labels<&self::num_labels>,
        // the mask token, read only with a bool_masked_pos input (not exported)
        no_effect<"use_mask_token", bool>,
        // stochastic depth: training only
        no_effect<"drop_path_rate", double>,
        // BeitForMaskedImageModeling's visual-token vocabulary (not exported)
        no_effect<"vocab_size", std::int64_t>,
        // the semantic-segmentation head and its auxiliary head (not exported)
        no_effect<"pool_scales", any_json>, no_effect<"use_auxiliary_head", bool>,
        no_effect<"auxiliary_loss_weight", double>, no_effect<"auxiliary_channels", std::int64_t>,
        no_effect<"auxiliary_num_convs", std::int64_t>, no_effect<"auxiliary_concat_input", bool>,
        no_effect<"semantic_loss_ignore_index", std::int64_t>,
        // BeitBackbone's feature maps (not exported); BackboneConfigMixin keeps
        // out_features and out_indices as _out_features and _out_indices
        no_effect<"out_features", any_json>, no_effect<"out_indices", any_json>, no_effect<"stage_names", any_json>,
        no_effect<"_out_features", any_json>, no_effect<"_out_indices", any_json>,
        no_effect<"add_fpn", bool>, no_effect<"reshape_hidden_states", bool>,
        no_effect<"rope_parameters", any_json>,
        // PreTrainedModel ties output to input embeddings; BEiT has neither
        no_effect<"tie_word_embeddings", bool>>;

    [[nodiscard]] constexpr encoder_shape shape() const { return vit_like_shape(*this); }
    /// One size where the learned positions or a relative bias fix it; any otherwise.
    [[nodiscard]] constexpr image_shape image() const {
        const bool fixed =
            use_absolute_position_embeddings || use_relative_position_bias || use_shared_relative_position_bias;
        return {num_channels, image_size, image_size, !fixed};
    }
    [[nodiscard]] constexpr patch_grid patches() const {
        return {patch_size, patch_size, image_size / patch_size, image_size / patch_size, 1,
                use_absolute_position_embeddings};
    }
    [[nodiscard]] constexpr vision_block_options block_options() const {
        return {.qkv_bias = true,
                .key_bias = false,
                .layer_scale = layer_scale_init_value > 0,
                .relative_bias = use_relative_position_bias,
                .shared_relative_bias = use_shared_relative_position_bias};
    }
};

/// BeitConfig's keys: its attention reads head_dim (getattr, else
/// hidden_size / heads), and the forward wrapper is_causal.
using beit_keys = extend<beit_config::fields, field<"head_dim", &beit_config::head_dim, rule::non_negative>,
                         absent<"is_causal", "Transformers 5 reads it as the kind of mask, which its eager and "
                                             "SDPA paths apply differently to an encoder">>;
/// Data2VecVisionConfig's keys: its attention's head size is always
/// hidden_size / heads (head_dim is read only by PretrainedConfig's
/// validate_architecture, which compares keys this config lacks).
using data2vec_vision_keys = extend<beit_config::fields, no_effect<"head_dim", std::int64_t>>;

/// BeitConfig from config.json.
inline beit_config beit_config_from_json(const config_reader& r) { return load_config<beit_config, beit_keys>(r); }
/// Data2VecVisionConfig from config.json.
inline beit_config data2vec_vision_config_from_json(const config_reader& r) {
    return load_config<beit_config, data2vec_vision_keys>(r);
}

/// BeitModel's module names under `Base` ("beit"): the embeddings, the
/// layers, the shared relative position bias, the final LayerNorm and the
/// pooler's.
template <fixed_string Base>
struct beit_names {
private:
    static constexpr auto embeddings_scope = detail::join<Base, "", ".embeddings">();
    static constexpr auto layers_scope = detail::join<Base, "", ".encoder.layer">();
    static constexpr auto shared_scope = detail::join<Base, "", ".encoder.relative_position_bias">();
    static constexpr auto norm_scope = detail::join<Base, "", ".layernorm">();
    static constexpr auto pooler_scope = detail::join<Base, "", ".pooler.layernorm">();

public:
    using embeddings = vit_embedding_names<embeddings_scope>;
    using layer = vit_layer_names<layers_scope>;
    static constexpr auto shared_bias = shared_scope;
    static constexpr auto norm = norm_scope;
    static constexpr auto pooler_norm = pooler_scope;
};

/// BeitModel's `layernorm` over every token, an Identity when the model
/// pools by the mean (`use_mean_pooling`).
template <fixed_string Scope>
struct beit_final_norm {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<beit_final_norm, typename B::value> s, const beit_config& c) {
        if (c.use_mean_pooling) return;
        const auto sh = c.shape();
        s.set(sl::hidden_states, layer_norm(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.eps));
    }
};

/// BeitPooler: with `use_mean_pooling`, the mean of the patch tokens (the
/// class token left out) through the LayerNorm at `Scope`; otherwise the
/// class token.
template <fixed_string Scope>
struct beit_pooler {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B>
    static void forward(B& b, io<beit_pooler, typename B::value> s, const beit_config& c) {
        const auto& h = s[sl::hidden_states];
        if (!c.use_mean_pooling) {
            s.set(sl::pooled_output, b.select(h, 1, 0));
            return;
        }
        const auto sh = c.shape();
        auto mean = b.reduce_mean(b.slice(h, 1, 1, std::numeric_limits<std::int64_t>::max()), 1);
        s.set(sl::pooled_output, layer_norm(b, Scope.view(), mean, sh.hidden_size, sh.eps));
    }
};

/// BEiT's family under a model type, a checkpoint prefix and a config loader.
template <fixed_string ModelType, fixed_string Base, auto Load>
struct beit_like_family : family_base<ModelType, Base, beit_config, Load,
                                      type_list<task::default_, task::image_classification>> {
    /// The legacy table's tolerance for BEiT and Data2VecVision.
    static constexpr double atol = 1e-4;
    /// BeitModel's pooler (the default feature exports last_hidden_state
    /// only, as Optimum's); the mask token, read only with a bool_masked_pos
    /// input (not exported); the relative position index, a buffer older
    /// checkpoints carry (the graph computes it).
    static std::vector<std::string> ignored() {
        return {"pooler.layernorm.weight", "pooler.layernorm.bias", "embeddings.mask_token",
                "relative_position_bias.relative_position_index"};
    }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    using names = beit_names<Base>;
    using trunk = type_list<patch_embeddings<typename names::embeddings>,
                            vit_encoder_stack<typename names::layer, names::shared_bias>, beit_final_norm<names::norm>>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification)
        -> concat<trunk, type_list<beit_pooler<names::pooler_norm>, pooled_classifier<"classifier">>>;
    /// last_hidden_state [batch, tokens, hidden]: tokens is fixed by the image size, or follows it.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
};

struct beit_family : beit_like_family<"beit", "beit", &beit_config_from_json> {};
struct data2vec_vision_family
    : beit_like_family<"data2vec-vision", "data2vec_vision", &data2vec_vision_config_from_json> {};

}  // namespace typeformer::inline v0
