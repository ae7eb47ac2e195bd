// Falcon: the ALiBi fixtures (tests/fixtures/falcon-alibi), the inputs each
// variant takes, config defaults and the refusals (its rotary features and
// generation: test_models.cpp).
#include "typeformer/models/falcon.hpp"

#include "harness.hpp"

namespace {
tf::falcon_config load_falcon(const nlohmann::json& j) {
    return tf::falcon_config_from_json(tf::config_reader(j, "config.json"));
}

void expect_refused(const nlohmann::json& j, const std::string& key) {
    try {
        load_falcon(j);
        ADD_FAILURE() << j.dump() << " was accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported") << e.what();
        EXPECT_NE(std::string(e.what()).find("/" + key), std::string::npos) << e.what();
    }
}

std::vector<std::string> input_names(const tf::family_handle& family, std::string_view dir, std::string_view feature) {
    const auto m = load_fixture("falcon", fixture_dir(dir, feature));
    std::vector<std::string> v;
    for (const auto& i : family.require(feature).inputs(m.config)) v.push_back(i.name);
    return v;
}
}  // namespace

// Falcon-RW's ALiBi, computed in bfloat16 and added once (as Transformers 5's
// SDPA attention and 4.41's eager one): reference and ONNX Runtime against
// Transformers, greedy generation from a plain and a left-padded prompt.
class falcon_alibi : public testing::TestWithParam<std::string> {};
TEST_P(falcon_alibi, matches_transformers_sdpa) {
    check_fixture("falcon", GetParam(), fixture_dir("falcon-alibi", GetParam()));
    if (GetParam() == "causal-lm-with-past") {
        const auto dir = fixture_dir("falcon-alibi", "causal-lm-with-past");
        check_generation("falcon", dir);
        check_generation("falcon", dir, 0, "generate_padded.safetensors");
    }
}
INSTANTIATE_TEST_SUITE_P(models, falcon_alibi, testing::Values("causal-lm-with-past", "default"), test_name);

// ONNX Runtime's bfloat16 rounding is the reference's at long pasts too
// (positions past 256 round).
TEST(falcon, alibi_onnxruntime_matches_the_reference_at_a_long_past) {
    const auto dir = fixture_dir("falcon-alibi", "causal-lm-with-past");
    const auto m = load_fixture("falcon", dir);
    const auto& f = m.family().require("causal-lm-with-past");
    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    tf::weight_cache weights;
    for (tf::axis_sizes n : {tf::axis_sizes{2, 9, 1, 300}, tf::axis_sizes{1, 280, 1, 0}}) {
        const auto feeds = f.make_inputs(m.config, n, 11);
        const auto ref = f.reference(m.config, m.weights, feeds, &weights);
        const auto onnx = ort.run(feeds);
        for (const auto& [name, want] : ref)
            EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), 1e-5)
                << name << " at past " << n.past << " sequence " << n.sequence;
    }
}

// Optimum's inputs: position_ids for the model and the causal LM of a rotary
// checkpoint, never with ALiBi nor for the classifiers.
TEST(falcon, position_ids_as_optimum_gives_them) {
    const auto& family = tf::require_family("falcon");
    const std::vector<std::string> with{"input_ids", "past_key_values.0.key", "past_key_values.0.value",
                                        "past_key_values.1.key", "past_key_values.1.value", "attention_mask",
                                        "position_ids"};
    EXPECT_EQ(input_names(family, "falcon", "causal-lm-with-past"), with);
    EXPECT_EQ(input_names(family, "falcon", "default"),
              (std::vector<std::string>{"input_ids", "attention_mask", "position_ids"}));
    EXPECT_EQ(input_names(family, "falcon", "question-answering"),
              (std::vector<std::string>{"input_ids", "attention_mask"}));
    EXPECT_EQ(input_names(family, "falcon-alibi", "causal-lm-with-past"),
              std::vector<std::string>(with.begin(), with.end() - 1));
    EXPECT_EQ(input_names(family, "falcon-alibi", "default"),
              (std::vector<std::string>{"input_ids", "attention_mask"}));
}

TEST(falcon, config_defaults_and_the_cache_heads) {
    const auto c = load_falcon({{"hidden_size", 64}, {"num_attention_heads", 8}});
    EXPECT_EQ(c.intermediate_size, 256);  // 4 · hidden
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.hidden_act, tf::activation::gelu);
    EXPECT_EQ(c.cache().kv_heads, 1);  // multi_query by default
    EXPECT_EQ(c.layout(), tf::falcon_layout::parallel);
    EXPECT_FALSE(c.attention_bias);
    EXPECT_EQ(load_falcon({{"hidden_size", 64}, {"n_embed", 32}, {"num_attention_heads", 8}}).intermediate_size, 128);
    const auto n = load_falcon({{"hidden_size", 64}, {"num_attention_heads", 8}, {"new_decoder_architecture", true},
                                {"num_kv_heads", 2}, {"bias", true}, {"ffn_hidden_size", 100}});
    EXPECT_EQ(n.cache().kv_heads, 8);  // each group's key and value repeated over its query heads
    EXPECT_EQ(n.kv_groups(), 2);
    EXPECT_EQ(n.layout(), tf::falcon_layout::two_norms);
    EXPECT_EQ(n.intermediate_size, 100);
    EXPECT_TRUE(n.mlp_bias);
    const auto s = load_falcon({{"hidden_size", 64}, {"num_attention_heads", 8}, {"multi_query", false},
                                {"parallel_attn", nullptr}});
    EXPECT_EQ(s.cache().kv_heads, 8);
    EXPECT_EQ(s.layout(), tf::falcon_layout::sequential);  // None is falsy
    EXPECT_EQ(load_falcon({{"alibi", true}, {"hidden_size", 36}, {"num_attention_heads", 12}}).rotary().dims, 0);
}

TEST(falcon, layouts_transformers_cannot_run_are_refused_by_name) {
    const nlohmann::json base{{"hidden_size", 64}, {"num_attention_heads", 8}};
    auto with = [&](nlohmann::json extra) {
        auto j = base;
        j.update(extra);
        return j;
    };
    expect_refused(with({{"new_decoder_architecture", true}, {"parallel_attn", false}}), "parallel_attn");
    expect_refused(with({{"new_decoder_architecture", true}, {"num_ln_in_parallel_attn", 3}}),
                   "num_ln_in_parallel_attn");
    expect_refused(with({{"new_decoder_architecture", true}, {"num_kv_heads", 3}}), "num_kv_heads");
    expect_refused(with({{"multi_query", false}, {"num_kv_heads", 4}}), "num_kv_heads");
    expect_refused(with({{"num_ln_in_parallel_attn", 2}}), "num_ln_in_parallel_attn");
    expect_refused(with({{"head_dim", 16}}), "head_dim");
    expect_refused(with({{"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}}), "type");
    EXPECT_NO_THROW(load_falcon(with({{"multi_query", true}, {"num_kv_heads", 4}})));  // ignored with multi_query
    EXPECT_NO_THROW(load_falcon(with({{"parallel_attn", false}, {"num_ln_in_parallel_attn", 2}})));
}
