// tools/export/family.hpp: what the command-line exporter knows of a family.
//
// Each family is compiled in its own translation unit (bert.cpp,
// distilbert.cpp, ...), which keeps compile time and memory per unit small;
// main.cpp only sees this table.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace typeformer_cli {

struct request {
    std::filesystem::path model_dir;
    std::filesystem::path output;
    std::string feature = "default";
    int opset = 17;
    double atol = -1;  // < 0: the architecture's default
    bool validate = true;
};

struct family_entry {
    std::string_view model_type;
    std::vector<std::string_view> features;
    int (*run)(const request&, const nlohmann::json& config);
};

family_entry bert_entry();
family_entry distilbert_entry();

inline std::vector<family_entry> all_families() { return {bert_entry(), distilbert_entry()}; }

}  // namespace typeformer_cli
