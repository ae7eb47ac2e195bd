// The BART family's decoder alone (causal-lm) from a whole encoder-decoder
// checkpoint (export/handle.hpp, select_decoder_alone): what the export reads,
// says and refuses (features and generation: test_models.cpp).
#include "typeformer/models/bart.hpp"

#include "harness.hpp"

// BartForCausalLM.from_pretrained(a saved BartForConditionalGeneration, untied)
// reads model.decoder.* and lm_head and leaves the encoder, model.shared and
// final_logits_bias unused: the export does the same, says so, and computes
// Transformers' logits and cache (the fixture's golden is that loaded model's).
TEST(bart, causal_lm_from_a_whole_encoder_decoder_checkpoint) {
    const auto model = fixture_dir("bart-whole", "causal-lm-with-past");
    const export_folder out;
    const auto log = out.exported(model, "causal-lm-with-past");
    EXPECT_NE(log.find("typeformer: a whole encoder-decoder checkpoint: causal-lm-with-past exports its decoder "
                       "alone (model.decoder.*, lm_head), as ...ForCausalLM.from_pretrained loads it; the encoder, "
                       "model.shared and final_logits_bias are not used (38 tensors set aside: final_logits_bias "
                       "model.encoder."),
              std::string::npos)
        << log;

    tf::ort_runner ort(out.dir / "model.onnx", 1);
    const auto io = tf::safetensors_file::open(model / "io.safetensors");
    const auto expected = fixture_tensors(io, "output.");
    const auto got = ort.run(fixture_tensors(io, "input."));
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [name, want] : expected) {
        ASSERT_TRUE(got.contains(name)) << name;
        EXPECT_LE(tf::max_abs_diff(got.at(name), want), 1e-5) << name << " vs Transformers";
    }
    // without the cache too; the encoder-decoder's own features still read the whole checkpoint
    EXPECT_NE(export_folder().exported(model, "causal-lm").find("a whole encoder-decoder checkpoint: causal-lm "),
              std::string::npos);
    EXPECT_EQ(export_folder().exported(model, "seq2seq-lm").find("a whole encoder-decoder checkpoint"),
              std::string::npos);
}

// A tied BartForConditionalGeneration as save_pretrained writes it stores
// the token embeddings once, as model.shared.weight: BartForCausalLM's
// from_pretrained leaves its decoder's embed_tokens (and the tied lm_head)
// newly initialized, so there is nothing to export, and the export says why.
TEST(bart, causal_lm_from_a_tied_whole_checkpoint_is_refused) {
    std::string id;
    const auto msg = export_folder().exported(fixture_dir("bart", "seq2seq-lm-with-past"), "causal-lm", &id);
    EXPECT_EQ(id, "checkpoint.mismatch");
    EXPECT_NE(msg.find("stores the decoder's token embeddings only as model.shared.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("leaves model.decoder.embed_tokens.weight (and the LM head tied to it) newly initialized"),
              std::string::npos)
        << msg;
}
