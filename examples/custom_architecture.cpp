// Declaring a new architecture as types.
//
// "bounded-bert": BERT's trunk and pooler, with a head that squashes the
// classifier's scores into (-5, 5): logits = 5 · tanh(classifier(pooled)).
// The head is a new layer, written once against the Backend concept: it
// runs on the reference backend and emits ONNX nodes with no other code.
// The architecture reuses BERT's config, its compile-time check and its
// checkpoint layout (the classifier weights of BertForSequenceClassification).
#include <typeformer/export/export.hpp>
#include <typeformer/models/bert.hpp>

#include <iostream>

namespace tf = typeformer;

// 1. A layer: what it reads, what it writes, and its forward.
struct bounded_classifier {
    using reads = tf::slots<"pooled_output">;
    using writes = tf::slots<"logits">;

    template <tf::Backend B, tf::EncoderConfig C>
    static void forward(B& b, tf::io<bounded_classifier, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto scores = tf::dense(b, "classifier", s[tf::sl::pooled_output], sh.hidden_size, sh.num_labels);
        auto guard = b.scope("bound");
        s.set(tf::sl::logits, b.mul(b.tanh(scores), b.scalar(5.f)));
    }
};

// 2. A family: its name, config, checkpoint prefix, features, inputs and layers.
struct bounded_bert_family {
    static constexpr std::string_view model_type = "bounded-bert";
    static constexpr std::string_view base_prefix = "bert";
    static constexpr double atol = 1e-5;
    using config = tf::bert_config;
    using features = tf::type_list<tf::task::sequence_classification>;

    static config load(const tf::config_reader& r) { return tf::bert_config_from_json(r); }
    static std::vector<std::string> ignored() { return tf::bert_family::ignored(); }

    template <class Task>
    static auto inputs(Task) -> tf::task::text_inputs<Task, "input_ids", "attention_mask", "token_type_ids">;
    static auto layers(tf::task::sequence_classification)
        -> tf::concat<tf::bert_family::trunk, tf::type_list<tf::bert_family::pooler, bounded_classifier>>;
};

int main(int argc, char** argv) {
    // a BertForSequenceClassification checkpoint, e.g. tests/fixtures/bert/sequence-classification
    const std::filesystem::path dir = argc > 1 ? argv[1] : ".";
    using family = bounded_bert_family;
    using task = tf::task::sequence_classification;

    const auto cfg = family::load(tf::config_reader(tf::config_reader::load(dir / "config.json"), "config.json"));
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("bert");
    auto built = tf::build_onnx<family, task>(cfg, ck, 17, dir.string());
    std::string bytes;
    built.proto.SerializeToString(&bytes);

    const auto inputs = tf::make_inputs<tf::model_of<family, task>>(cfg.shape(), {.batch = 2, .sequence = 5});
    const auto reference = tf::reference_outputs<family, task>(cfg, ck, inputs);
    const auto onnx = tf::ort_runner(bytes).run(inputs);
    std::cout << "bounded-bert: " << built.proto.graph().node_size() << " nodes\n";
    const bool bounded = xt::all(xt::abs(reference.at("logits").f) < 5.f);
    return tf::compare_outputs(reference, onnx, family::atol, std::cout) && bounded ? 0 : 1;
}
