// Compile-time properties (static_asserts), plus the run-time side of the
// same config checks: one constexpr function, one sentence, both ways.
#include <gtest/gtest.h>

#include "typeformer/backend/eval.hpp"
#include "typeformer/backend/onnx.hpp"
#include "typeformer/models/bert.hpp"
#include "typeformer/models/distilbert.hpp"

namespace tf = typeformer;

// type lists
static_assert(std::is_same_v<tf::concat<tf::type_list<int>, tf::type_list<>, tf::type_list<char, long>>,
                             tf::type_list<int, char, long>>);
static_assert(tf::contains<tf::type_list<int, char>, char>);
static_assert(!tf::contains<tf::type_list<int, char>, long>);
static_assert(tf::contains<tf::slots<"a", "b">, tf::slot<"b">>);

// configs: the defaults are valid; a custom compile-time config is a type
static_assert(tf::check(tf::bert_config{}));
static_assert(tf::check(tf::distilbert_config{}));
struct tiny_bert final : tf::bert<tf::bert_config{.hidden_size = 256, .num_attention_heads = 8}> {};
static_assert(tiny_bert::config.hidden_size == 256);
static_assert(tiny_bert::config.shape().num_heads == 8);

// every (family, task) of the feature table is wired correctly
template <class F>
constexpr bool all_wired() {
    bool ok = true;
    tf::for_each_type(typename F::features{}, [&]<class T>() {
        ok = ok && tf::wiring_ok<typename tf::model_of<F, T>::inputs, typename tf::model_of<F, T>::layers,
                                 typename tf::model_of<F, T>::outputs>;
    });
    return ok;
}
static_assert(all_wired<tf::bert_family>());
static_assert(all_wired<tf::distilbert_family>());
static_assert(tf::supports<tf::bert_family, tf::task::causal_lm>);
static_assert(!tf::supports<tf::distilbert_family, tf::task::causal_lm>);

// the backends model the op vocabulary
static_assert(tf::Backend<tf::eval_backend>);
static_assert(tf::Backend<tf::onnx_backend>);

TEST(config_check, run_time_error_is_the_compile_time_sentence) {
    const tf::bert_config bad{.hidden_size = 100, .num_attention_heads = 8};
    try {
        tf::check(bad);
        FAIL() << "check accepted hidden_size 100 with 8 heads";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.invalid");
        EXPECT_STREQ(e.what(), "[config.invalid] hidden_size must be divisible by num_attention_heads");
    }
}

TEST(config_check, loader_uses_the_same_check_and_names_the_file) {
    const auto j = nlohmann::json::parse(R"({"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4})");
    try {
        tf::bert_config_from_json(tf::config_reader(j, "x/config.json"));
        FAIL();
    } catch (const tf::error& e) {
        EXPECT_STREQ(e.what(), "[config.invalid] x/config.json: hidden_size must be divisible by num_attention_heads");
    }
}

TEST(config_reader, type_errors_name_the_path) {
    const auto j = nlohmann::json::parse(R"({"num_attention_heads": "12"})");
    try {
        tf::bert_config_from_json(tf::config_reader(j, "c.json"));
        FAIL();
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.type_error");
        EXPECT_STREQ(e.what(), "[config.type_error] c.json: /num_attention_heads: expected an integer, got \"12\"");
    }
}

TEST(config_reader, transformers_defaults_for_absent_fields) {
    const auto c = tf::bert_config_from_json(tf::config_reader(nlohmann::json::object(), "c.json"));
    EXPECT_EQ(c.hidden_size, 768);
    EXPECT_EQ(c.num_hidden_layers, 12);
    EXPECT_EQ(c.layer_norm_eps, 1e-12);
    EXPECT_EQ(c.hidden_act, tf::activation::gelu);
    EXPECT_EQ(c.num_labels, 2);
    const auto d = tf::distilbert_config_from_json(tf::config_reader(nlohmann::json::object(), "c.json"));
    EXPECT_EQ(d.dim, 768);
    EXPECT_EQ(d.n_layers, 6);
}

TEST(config_reader, num_labels_from_id2label) {
    const auto j = nlohmann::json::parse(R"({"id2label": {"0": "a", "1": "b", "2": "c"}})");
    EXPECT_EQ(tf::bert_config_from_json(tf::config_reader(j, "c.json")).num_labels, 3);
}

TEST(config_reader, unsupported_values_are_refused) {
    const auto j = nlohmann::json::parse(R"({"position_embedding_type": "relative_key"})");
    EXPECT_THROW(tf::bert_config_from_json(tf::config_reader(j, "c.json")), tf::error);
    const auto k = nlohmann::json::parse(R"({"hidden_act": "mish"})");
    EXPECT_THROW(tf::bert_config_from_json(tf::config_reader(k, "c.json")), tf::error);
}
