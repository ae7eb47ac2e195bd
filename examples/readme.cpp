// The README's example: export a BERT checkpoint's masked-lm graph and check
// it with ONNX Runtime against the reference pass.
#include <typeformer/export/export.hpp>
#include <typeformer/models/bert.hpp>

#include <iostream>

namespace tf = typeformer;

int main(int argc, char** argv) {
    const std::filesystem::path dir = argc > 1 ? argv[1] : ".";  // config.json + model.safetensors
    using family = tf::bert_family;
    using task = tf::task::masked_lm;

    const auto cfg = family::load(tf::config_reader(tf::config_reader::load(dir / "config.json"), "config.json"));
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("bert");

    auto built = tf::build_onnx<family, task>(cfg, ck, /*opset=*/17, dir.string());
    tf::write_atomically("model.onnx", [&](std::ostream& out) { return built.proto.SerializeToOstream(&out); });

    const auto inputs = tf::make_inputs<tf::model_of<family, task>>(cfg.shape(), {.batch = 3, .sequence = 9});
    const auto reference = tf::reference_outputs<family, task>(cfg, ck, inputs);
    const auto onnx = tf::ort_runner(std::filesystem::path("model.onnx")).run(inputs);
    return tf::compare_outputs(reference, onnx, /*atol=*/1e-5, std::cout) ? 0 : 1;
}
