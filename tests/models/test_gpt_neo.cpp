// GPT-Neo: attention layers from the config (features and generation:
// test_models.cpp). The fixtures' windows (3 tokens) are short enough that
// local layers differ from global ones within every input (by 0.6 to 2.9 in
// the outputs).
#include "typeformer/models/gpt_neo.hpp"

#include "harness.hpp"

namespace {
tf::gpt_neo_config load_gpt_neo(const char* text) {
    const auto j = nlohmann::json::parse(text);
    return tf::gpt_neo_family::load(tf::config_reader(j, "config.json"));
}
std::string error_id(const char* text) {
    try {
        load_gpt_neo(text);
    } catch (const tf::error& e) {
        return std::string(e.id());
    }
    return "none";
}
}  // namespace

TEST(gpt_neo, attention_layers_from_the_config) {
    // Transformers' defaults: 24 layers, global and local alternating, window 256
    const auto d = load_gpt_neo("{}");
    EXPECT_EQ(d.window(0), 0);
    EXPECT_EQ(d.window(1), 256);
    EXPECT_EQ(d.window(23), 256);
    EXPECT_EQ(d.any_window(), 256);
    // attention_types expanded when attention_layers is not given
    const auto t = load_gpt_neo(R"({"num_layers": 3, "window_size": 5,
                            "attention_types": [[["local"], 1], [["global", "local"], 1]]})");
    EXPECT_EQ(t.window(0), 5);
    EXPECT_EQ(t.window(1), 0);
    EXPECT_EQ(t.window(2), 5);
    // attention_layers alone is read as it is; beside attention_types it must agree with it (4.41 takes
    // attention_layers, 5.x recomputes it from attention_types)
    const auto l = load_gpt_neo(R"({"num_layers": 2, "attention_layers": ["global", "global"]})");
    EXPECT_EQ(l.any_window(), 0);
    EXPECT_EQ(error_id(R"({"num_layers": 2, "attention_types": [[["local"], 2]],
                            "attention_layers": ["global", "global"]})"), "config.invalid");
    EXPECT_NO_THROW(load_gpt_neo(R"({"num_layers": 2, "attention_types": [[["local"], 2]],
                            "attention_layers": ["local", "local"]})"));
    EXPECT_EQ(error_id(R"({"num_layers": 3, "attention_types": [[["global", "local"], 1]]})"), "config.invalid");
    EXPECT_EQ(error_id(R"({"num_layers": 1, "attention_layers": ["sparse"]})"), "config.unsupported");
    EXPECT_EQ(error_id(R"({"num_layers": 1, "attention_types": [["local", 1]]})"), "config.type_error");
    EXPECT_EQ(error_id(R"({"num_layers": 1, "attention_layers": ["local"], "window_size": 0})"), "config.invalid");
}

struct tiny_gpt_neo final
    : tf::gpt_neo<tf::gpt_neo_config{.vocab_size = 99, .max_position_embeddings = 64, .hidden_size = 32,
                                     .num_layers = 2, .num_heads = 4, .window_size = 3}> {};
static_assert(tiny_gpt_neo::config.window(0) == 0 && tiny_gpt_neo::config.window(1) == 3);
static_assert(tiny_gpt_neo::config.any_window() == 3);
