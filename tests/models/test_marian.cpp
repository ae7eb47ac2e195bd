// Marian: what its fixtures in the common layout do not show (features and
// generation: test_models.cpp).
#include "typeformer/models/bart.hpp"

#include "harness.hpp"

// share_encoder_decoder_embeddings false and tie_word_embeddings false: the
// encoder's table (vocab_size 99), the decoder's own (decoder_vocab_size
// 83) and an lm_head apart from it, each stored; no model.shared. Every
// graph of the seq2seq-lm features (seq2seq-lm's two are
// seq2seq-lm-with-past's first two) against Transformers and ONNX Runtime,
// and greedy generation.
TEST(marian, untied_decoder_embeddings_and_lm_head) {
    const auto dir = fixture_dir("marian-untied", "seq2seq-lm-with-past");
    const auto m = load_fixture("marian", dir);
    const auto& c = typed_config<tf::bart_config>(m.config);
    EXPECT_FALSE(c.shared_vocabulary);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_EQ(c.decoder_vocabulary(), 83);
    EXPECT_EQ(c.lm_head_tied_to(), "");
    EXPECT_EQ(m.weights.find("model.shared.weight"), nullptr);
    for (const char* feature : {"seq2seq-lm", "seq2seq-lm-with-past"}) {
        SCOPED_TRACE(feature);
        check_seq2seq_fixture("marian", feature, dir);
    }
    check_seq2seq_generation("marian", dir);
}
