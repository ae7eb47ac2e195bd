// What the DETR-like families' tests (test_detr.cpp, test_conditional_detr.cpp)
// share beyond harness.hpp: the reference pass of a fixture with its config
// or inputs edited, and one batch row's difference.
#pragma once

#include "typeformer/models/detr.hpp"

#include "harness.hpp"

namespace detr_test {

/// The reference pass of a fixture's feature on its inputs, `edit`ed (the
/// typed config and the inputs, before the pass); `dir` a variant's folder
/// (default: the feature's own).
template <class Edit>
tf::tensor_map reference_with(std::string_view model_type, std::string_view feature, Edit edit,
                              std::filesystem::path dir = {}) {
    if (dir.empty()) dir = fixture_dir(model_type, feature);
    const auto m = load_fixture(model_type, dir);
    auto inputs = fixture_tensors(tf::safetensors_file::open(dir / "io.safetensors"), "input.");
    auto config = typed_config<tf::detr_config>(m.config);
    edit(config, inputs);
    return m.family().require(feature).reference(with_config(m.config, config), m.weights, inputs, nullptr);
}

/// The largest difference between batch row `row` of a and of b.
inline double row_diff(const tf::eval_value& a, const tf::eval_value& b, std::size_t row) {
    return tf::max_abs_diff(tf::eval_value(xt::xarray<float>(xt::view(a.f, row))),
                            tf::eval_value(xt::xarray<float>(xt::view(b.f, row))));
}

}  // namespace detr_test
