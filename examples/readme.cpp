// The README's library example: export a checkpoint folder, validated, in one call.
#include <typeformer/export/pretrained.hpp>

#include <iostream>

int main(int argc, char** argv) {
    const std::filesystem::path model = argc > 1 ? argv[1] : ".";  // config.json + weights, or org/name (HF cache)
    const auto report = typeformer::export_pretrained(model, "onnx", {.feature = "masked-lm"});
    for (const auto& c : report.checks)
        std::cout << c.output << ": max abs diff " << c.max_abs_diff << " (atol " << report.atol << ")\n";
    return report.ok() ? 0 : 1;
}
