// typeformer-make-checkpoint: writes a Hugging Face-layout BERT checkpoint
// folder (config.json + model.safetensors) with random weights, for the
// benchmarks. The tensor names and shapes are those of transformers'
// BertModel (no "bert." prefix, no position_ids buffer); weights are
// normal(0, 0.02) from a fixed seed, LayerNorm weights 1 and biases 0,
// biases of linear layers 0 (as BertPreTrainedModel._init_weights does).
//
// Defaults make bert-base-uncased's shapes: ~110M parameters, ~440 MB of f32.
//
// Memory: write_safetensors streams spans that must all be alive at once, so
// the weights are generated into one buffer (one copy of the model, ~440 MB).
#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "typeformer/core/error.hpp"
#include "typeformer/io/safetensors.hpp"

namespace {

enum class init { normal, zeros, ones };

struct spec {
    std::string name;
    std::vector<std::int64_t> shape;
    init how;
};

struct sizes {
    std::int64_t layers = 12, hidden = 768, heads = 12, intermediate = 3072, vocab = 30522;
    std::int64_t max_position = 512, type_vocab = 2;
};

std::vector<spec> bert_model_tensors(const sizes& s) {
    std::vector<spec> out;
    const auto linear = [&](const std::string& prefix, std::int64_t out_dim, std::int64_t in_dim) {
        out.push_back({prefix + ".weight", {out_dim, in_dim}, init::normal});
        out.push_back({prefix + ".bias", {out_dim}, init::zeros});
    };
    const auto norm = [&](const std::string& prefix) {
        out.push_back({prefix + ".weight", {s.hidden}, init::ones});
        out.push_back({prefix + ".bias", {s.hidden}, init::zeros});
    };
    out.push_back({"embeddings.word_embeddings.weight", {s.vocab, s.hidden}, init::normal});
    out.push_back({"embeddings.position_embeddings.weight", {s.max_position, s.hidden}, init::normal});
    out.push_back({"embeddings.token_type_embeddings.weight", {s.type_vocab, s.hidden}, init::normal});
    norm("embeddings.LayerNorm");
    for (std::int64_t i = 0; i < s.layers; ++i) {
        const std::string l = "encoder.layer." + std::to_string(i) + ".";
        linear(l + "attention.self.query", s.hidden, s.hidden);
        linear(l + "attention.self.key", s.hidden, s.hidden);
        linear(l + "attention.self.value", s.hidden, s.hidden);
        linear(l + "attention.output.dense", s.hidden, s.hidden);
        norm(l + "attention.output.LayerNorm");
        linear(l + "intermediate.dense", s.intermediate, s.hidden);
        linear(l + "output.dense", s.hidden, s.intermediate);
        norm(l + "output.LayerNorm");
    }
    linear("pooler.dense", s.hidden, s.hidden);
    return out;
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    CLI::App app{"typeformer-make-checkpoint: write a BERT checkpoint folder (config.json + model.safetensors, "
                 "BertModel layout) with random weights from a fixed seed. Defaults: bert-base shapes.",
                 "typeformer-make-checkpoint"};
    sizes s;
    std::uint32_t seed = 1234;
    fs::path output;
    app.add_option("output", output, "Folder to write (created if needed)")->required();
    app.add_option("--layers", s.layers, "num_hidden_layers")->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--hidden", s.hidden, "hidden_size")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--heads", s.heads, "num_attention_heads")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--intermediate", s.intermediate, "intermediate_size")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--vocab", s.vocab, "vocab_size")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "Random seed")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (s.hidden % s.heads != 0) {
        std::cerr << "typeformer-make-checkpoint: --hidden must be divisible by --heads\n";
        return 2;
    }

    try {
        fs::create_directories(output);
        const auto specs = bert_model_tensors(s);
        std::int64_t total = 0;
        for (const auto& t : specs) total += numel(t.shape);

        // One buffer for the whole model; each tensor is a span into it.
        std::vector<float> data(static_cast<std::size_t>(total));
        std::mt19937 rng(seed);
        std::normal_distribution<float> normal(0.f, 0.02f);
        std::vector<typeformer::tensor_to_write> tensors;
        tensors.reserve(specs.size());
        std::size_t offset = 0;
        for (const auto& t : specs) {
            const auto n = static_cast<std::size_t>(numel(t.shape));
            float* p = data.data() + offset;
            for (std::size_t k = 0; k < n; ++k)
                p[k] = t.how == init::normal ? normal(rng) : t.how == init::ones ? 1.f : 0.f;
            tensors.push_back({t.name, typeformer::dtype::f32, t.shape,
                               std::as_bytes(std::span<const float>(p, n))});
            offset += n;
        }
        typeformer::write_safetensors(output / "model.safetensors", tensors, {{"format", "pt"}});

        const nlohmann::json config = {
            {"architectures", {"BertModel"}},
            {"model_type", "bert"},
            {"vocab_size", s.vocab},
            {"hidden_size", s.hidden},
            {"num_hidden_layers", s.layers},
            {"num_attention_heads", s.heads},
            {"intermediate_size", s.intermediate},
            {"hidden_act", "gelu"},
            {"hidden_dropout_prob", 0.1},
            {"attention_probs_dropout_prob", 0.1},
            {"max_position_embeddings", s.max_position},
            {"type_vocab_size", s.type_vocab},
            {"initializer_range", 0.02},
            {"layer_norm_eps", 1e-12},
            {"pad_token_id", 0},
            {"position_embedding_type", "absolute"},
            {"use_cache", true},
            {"torch_dtype", "float32"},
        };
        std::ofstream(output / "config.json") << config.dump(2) << "\n";

        std::cout << "typeformer-make-checkpoint: wrote " << (output / "model.safetensors").string() << " ("
                  << specs.size() << " tensors, " << total << " parameters, "
                  << fs::file_size(output / "model.safetensors") << " bytes) and config.json\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "typeformer-make-checkpoint: " << e.what() << "\n";
        return 2;
    }
}
