// typeformer/export/registry.hpp: the registered families, and the feature table as a query.
//
// The families a program can export are one list, in CMake: the families of
// cmake/typeformer-families.cmake that `typeformer_add_families(target ...)`
// compiles, one translation unit each, into a library that also defines
// registered_families() in the list's order. The exporter and the tests link
// the same library; a program of yours links one made with the families it
// needs (see docs/extending.md).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/linkage.hpp"
#include "typeformer/export/handle.hpp"

namespace typeformer::inline v0 {

/// Every family of the program, in the family list's order. Defined by the
/// library that typeformer_add_families() generates: link it.
std::span<const family_handle* const> registered_families();

/// The family whose model_type is `model_type`, or nullptr.
const family_handle* find_family(std::string_view model_type,
                                 std::span<const family_handle* const> families = registered_families());
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE const family_handle* find_family(std::string_view model_type, std::span<const family_handle* const> families) {
    for (const auto* f : families)
        if (f->model_type == model_type) return f;
    return nullptr;
}
#endif

/// The family `name` names: its model_type as config.json writes it, or
/// the same with '-' and '_' taken as one (transformers.onnx spelled
/// model_type with dashes, `model_type.replace("_", "-")`: gpt-neo,
/// big-bird, bigbird-pegasus, m2m-100 for gpt_neo, big_bird,
/// bigbird_pegasus, m2m_100); nullptr if none.
const family_handle* find_family_any_spelling(std::string_view name,
                                              std::span<const family_handle* const> families = registered_families());
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE const family_handle* find_family_any_spelling(std::string_view name, std::span<const family_handle* const> families) {
    if (const auto* f = find_family(name, families)) return f;
    const auto same = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t k = 0; k < a.size(); ++k)
            if (a[k] != b[k] && !((a[k] == '-' || a[k] == '_') && (b[k] == '-' || b[k] == '_'))) return false;
        return true;
    };
    for (const auto* f : families)
        if (same(f->model_type, name)) return f;
    return nullptr;
}
#endif

/// The model types, in order (transformers.onnx: FeaturesManager's table keys).
std::vector<std::string> supported_model_types(
                                               std::span<const family_handle* const> families = registered_families());
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::vector<std::string> supported_model_types(std::span<const family_handle* const> families) {
    std::vector<std::string> v;
    for (const auto* f : families) v.emplace_back(f->model_type);
    return v;
}
#endif

/// "bert, distilbert, ...": for messages.
std::string joined_model_types(std::span<const family_handle* const> families = registered_families());
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string joined_model_types(std::span<const family_handle* const> families) {
    std::string s;
    for (const auto* f : families) s += (s.empty() ? "" : ", ") + std::string(f->model_type);
    return s;
}
#endif

/// The family whose model_type is `model_type`; export.model_type, naming
/// the supported ones, if there is none.
const family_handle& require_family(std::string_view model_type,
                                    std::span<const family_handle* const> families = registered_families());
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE const family_handle& require_family(std::string_view model_type, std::span<const family_handle* const> families) {
    if (const auto* f = find_family(model_type, families)) return *f;
    throw error("export.model_type", "model_type " + std::string(model_type) + " is not supported (supported: " +
                                         joined_model_types(families) + ")");
}
#endif

/// The features of a model type, in order; export.model_type if it is not
/// supported (transformers.onnx: get_supported_features_for_model_type).
std::vector<std::string> supported_features(
                                            std::string_view model_type, std::span<const family_handle* const> families = registered_families());
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::vector<std::string> supported_features(std::string_view model_type, std::span<const family_handle* const> families) {
    return require_family(model_type, families).feature_names();
}
#endif

}  // namespace typeformer::inline v0
