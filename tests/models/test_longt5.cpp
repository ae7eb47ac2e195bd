// LongT5: the config's keys and refusals, and the encoder's blocks at every
// length (features and generation: test_models.cpp).
#include "typeformer/models/longt5.hpp"

#include "harness.hpp"

TEST(longt5, config_reading) {
    const auto d = config_from_text<tf::longt5_family>("{}");  // LongT5Config's defaults
    EXPECT_EQ(d.local_radius, 127);
    EXPECT_EQ(d.block_len(), 128);
    EXPECT_EQ(d.global_block_size, 16);
    EXPECT_FALSE(d.transient_global);
    EXPECT_FALSE(d.t5().gated);
    EXPECT_TRUE(d.t5().scale_decoder_outputs);
    EXPECT_EQ(d.t5().decoder_layers, 6);
    const auto tg = config_from_text<tf::longt5_family>(R"({"encoder_attention_type": "transient-global", "local_radius": 3,
                                    "global_block_size": 5, "feed_forward_proj": "gated-gelu",
                                    "tie_word_embeddings": false})");
    EXPECT_TRUE(tg.transient_global);
    EXPECT_EQ(tg.block_len(), 4);
    EXPECT_EQ(tg.global_block_size, 5);
    EXPECT_TRUE(tg.t5().gated);
    EXPECT_FALSE(tg.t5().scale_decoder_outputs);  // LongT5 v1.1's configs: untied, so not scaled
    // as Transformers 5 saves it: scale_decoder_outputs over tie_word_embeddings (null: no scaling)
    EXPECT_FALSE(config_from_text<tf::longt5_family>(R"({"tie_word_embeddings": true, "scale_decoder_outputs": null})").t5().scale_decoder_outputs);
    EXPECT_TRUE(config_from_text<tf::longt5_family>(R"({"encoder_attention_type": "local"})").t5().scale_decoder_outputs);
}

TEST(longt5, config_refusals) {
    const auto e = config_error<tf::longt5_family>(R"({"encoder_attention_type": "global"})");
    EXPECT_NE(e.find("config.unsupported"), std::string::npos) << e;
    EXPECT_NE(e.find("encoder_attention_type"), std::string::npos) << e;
    EXPECT_NE(config_error<tf::longt5_family>(R"({"local_radius": -1})").find("local_radius"), std::string::npos);
    EXPECT_NE(config_error<tf::longt5_family>(R"({"global_block_size": 0})").find("global_block_size"), std::string::npos);
    // T5's refusals hold for LongT5
    EXPECT_NE(config_error<tf::longt5_family>(R"({"feed_forward_proj": "gated-silu"})").find("feed_forward_proj"), std::string::npos);
    EXPECT_NE(config_error<tf::longt5_family>(R"({"is_causal": true})").find("is_causal"), std::string::npos);
    EXPECT_NE(config_error<tf::longt5_family>(R"({"tie_encoder_decoder": true})").find("tie_encoder_decoder"), std::string::npos);
}

// One encoder graph serves every length: ONNX Runtime against the reference
// pass at 1 .. 26 tokens, across several block and global block lengths
// (blocks of 3; of 2 with global blocks of 3; of 6 with global blocks of 2),
// two rows, the second padded.
TEST(longt5, encoder_graph_at_every_length) {
    for (const char* feature : {"seq2seq-lm", "seq2seq-lm-with-past", "default-with-past"}) {
        SCOPED_TRACE(feature);
        const auto dir = seq2seq_fixture_dir("longt5", feature);
        const auto m = load_fixture("longt5", dir);
        const auto& f = m.family().require(feature);
        const auto* encoder = f.graphs().front();
        ASSERT_EQ(encoder->graph, "encoder_model");
        tf::weight_cache weights;
        tf::ort_runner ort(onnx_bytes(m, *encoder, tf::default_opset, dir), 1);
        for (std::int64_t length = 1; length <= 26; ++length) {
            const auto feeds = encoder->make_inputs(m.config, {2, length, 3, 0, 1}, static_cast<std::uint32_t>(length));
            const auto ref = encoder->reference(m.config, m.weights, feeds, &weights);
            const auto onnx = ort.run(feeds);
            const auto& want = ref.at("last_hidden_state");
            ASSERT_EQ(want.shape()[1], length);
            EXPECT_LE(tf::max_abs_diff(onnx.at("last_hidden_state"), want), m.family().atol)
                << feature << " at " << length << " tokens";
        }
    }
}
