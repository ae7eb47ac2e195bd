// Uses the installed headers: a BERT with a compile-time config, run on the
// fixture checkpoint by the reference backend and emitted by the ONNX
// backend. Exit 0 when the reference matches Transformers' output.
#include <typeformer/backend/eval.hpp>
#include <typeformer/backend/onnx.hpp>
#include <typeformer/models/bert.hpp>

#include <iostream>

namespace tf = typeformer;

// The fixture's config (tools/fixtures/generate.py), checked at compile time.
struct tiny_bert final : tf::bert<tf::bert_config{.vocab_size = 99, .hidden_size = 32, .num_hidden_layers = 2,
                                                  .num_attention_heads = 4, .intermediate_size = 37,
                                                  .max_position_embeddings = 64, .type_vocab_size = 16}> {};

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::filesystem::path dir = argv[1];
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("bert");
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");

    tf::eval_backend b(&ck);
    for (const char* name : {"input_ids", "attention_mask", "token_type_ids"}) {
        const auto* t = io.find(std::string("input.") + name);
        xt::xarray<std::int64_t> a = xt::zeros<std::int64_t>(std::vector<std::size_t>(t->shape.begin(), t->shape.end()));
        tf::read_as_i64(*t, std::span<std::int64_t>(a.data(), a.size()));
        b.feed(name, tf::eval_value(std::move(a)));
    }
    tf::forward<tiny_bert>(b, tiny_bert::config);
    const auto& got = b.outputs().at("last_hidden_state").f;
    const auto* want = io.find("output.last_hidden_state");
    std::vector<float> w(static_cast<std::size_t>(want->numel()));
    tf::read_as_f32(*want, w);
    double diff = 0;
    for (std::size_t k = 0; k < w.size(); ++k) diff = std::max(diff, std::abs(double(got.data()[k]) - w[k]));

    tf::onnx_backend ob(&ck);
    tf::forward<tiny_bert>(ob, tiny_bert::config);
    ob.finish();
    std::cout << "max abs diff vs Transformers: " << diff << "; ONNX graph: " << ob.model().graph().node_size()
              << " nodes\n";
    return diff <= 1e-5 && ob.model().graph().node_size() > 0 ? 0 : 1;
}
