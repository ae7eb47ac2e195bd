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

// MarianForCausalLM with decoder_vocab_size 120 and an untied head: the
// decoder reads a table of 120 rows, lm_head is nn.Linear(d_model,
// vocab_size 99), so the logits have 99 columns (tied, lm_head is the
// decoder's table and has its rows).
TEST(marian, causal_lm_untied_head_has_vocab_size_rows) {
    const auto dir = fixture_dir("marian-untied", "causal-lm-with-past");
    const auto m = load_fixture("marian", dir);
    EXPECT_EQ(typed_config<tf::bart_config>(m.config).decoder_vocabulary(), 120);
    check_fixture("marian", "causal-lm-with-past", dir);
    check_generation("marian", dir);
}

// The decoder alone from a whole MarianMTModel checkpoint (select_decoder_alone):
// with the decoder's own table and the head tied to it, MarianForCausalLM
// reads model.decoder.* (the LM head is that table); with an untied head of
// decoder_vocab_size rows, its from_pretrained raises on lm_head's shape
// (it makes one of vocab_size rows), and so does the export.
TEST(marian, causal_lm_from_a_whole_checkpoint) {
    const auto tied = export_folder().exported(fixture_dir("marian", "seq2seq-lm-with-past"), "causal-lm");
    EXPECT_NE(tied.find("a whole encoder-decoder checkpoint: causal-lm exports its decoder alone"), std::string::npos)
        << tied;
    std::string id;
    const auto msg =
        export_folder().exported(fixture_dir("marian-untied", "seq2seq-lm-with-past"), "causal-lm", &id);
    EXPECT_EQ(id, "checkpoint.mismatch");
    EXPECT_NE(msg.find("tensor lm_head.weight has shape [83, 24], expected [99, 24]"), std::string::npos) << msg;
}
