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

    // request fields of the checkpoints group (issue #5) below this line

    // request fields of the robustness group (issue #5) below this line

};

struct family_entry {
    std::string_view model_type;
    std::vector<std::string_view> features;
    int (*run)(const request&, const nlohmann::json& config);
};

family_entry bert_entry();
family_entry distilbert_entry();

// entries of the roberta group (issue #3) below this line

// entries of the albert group (issue #3) below this line
family_entry xlm_entry();
family_entry flaubert_entry();

// entries of the mobilebert group (issue #3) below this line
family_entry squeezebert_entry();

// entries of the convbert group (issue #3) below this line
family_entry roformer_entry();
family_entry convbert_entry();

// entries of the deberta group (issue #3) below this line

// entries of the sparse group (issue #3) below this line

inline std::vector<family_entry> all_families() {
    return {
        bert_entry(),
        distilbert_entry(),

        // entries of the roberta group (issue #3) below this line

        // entries of the albert group (issue #3) below this line
        xlm_entry(),
        flaubert_entry(),

        // entries of the mobilebert group (issue #3) below this line
        squeezebert_entry(),

        // entries of the convbert group (issue #3) below this line
        roformer_entry(),
        convbert_entry(),

        // entries of the deberta group (issue #3) below this line

        // entries of the sparse group (issue #3) below this line
    };
}

}  // namespace typeformer_cli
