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
    std::string dtype = "fp32";  // --dtype: fp32, or fp16 (float16 weights and outputs)

    // request fields of the robustness group (issue #5) below this line
    bool external_data = false;  // weights in model.onnx_data (also automatic past 2 GiB)
    bool force = false;          // replace an existing model.onnx even if not validated

};

struct family_entry {
    std::string_view model_type;
    std::vector<std::string_view> features;
    int (*run)(const request&, const nlohmann::json& config);
};

family_entry bert_entry();
family_entry distilbert_entry();

// entries of the roberta group (issue #3) below this line
family_entry roberta_entry();
family_entry camembert_entry();
family_entry xlm_roberta_entry();
family_entry data2vec_text_entry();
family_entry ibert_entry();
family_entry xlm_roberta_xl_entry();
family_entry electra_entry();
family_entry ernie_entry();

// entries of the albert group (issue #3) below this line
family_entry xlm_entry();
family_entry flaubert_entry();
family_entry layoutlm_entry();
family_entry albert_entry();

// entries of the mobilebert group (issue #3) below this line
family_entry mobilebert_entry();
family_entry squeezebert_entry();

// entries of the convbert group (issue #3) below this line
family_entry roformer_entry();
family_entry convbert_entry();

// entries of the deberta group (issue #3) below this line
family_entry deberta_entry();
family_entry deberta_v2_entry();

// entries of the sparse group (issue #3) below this line
family_entry big_bird_entry();
family_entry longformer_entry();

// entries of the gpt2 group (issue #4) below this line
family_entry gpt2_entry();

// entries of the neo_j group (issue #4) below this line
family_entry gptj_entry();
family_entry codegen_entry();
family_entry gpt_neo_entry();

// entries of the bloom group (issue #4) below this line
family_entry bloom_entry();

// entries of the llama group (issue #4) below this line
family_entry llama_entry();
family_entry mistral_entry();
family_entry qwen2_entry();

// entries of the phi3_gemma group (issue #4) below this line
family_entry phi3_entry();
family_entry gemma_entry();

inline std::vector<family_entry> all_families() {
    return {
        bert_entry(),
        distilbert_entry(),

        // entries of the roberta group (issue #3) below this line
        roberta_entry(),
        camembert_entry(),
        xlm_roberta_entry(),
        data2vec_text_entry(),
        ibert_entry(),
        xlm_roberta_xl_entry(),
        electra_entry(),
        ernie_entry(),

        // entries of the albert group (issue #3) below this line
        xlm_entry(),
        flaubert_entry(),
        layoutlm_entry(),
        albert_entry(),

        // entries of the mobilebert group (issue #3) below this line
        mobilebert_entry(),
        squeezebert_entry(),

        // entries of the convbert group (issue #3) below this line
        roformer_entry(),
        convbert_entry(),

        // entries of the deberta group (issue #3) below this line
        deberta_entry(),
        deberta_v2_entry(),

        // entries of the sparse group (issue #3) below this line
        big_bird_entry(),
        longformer_entry(),

        // entries of the gpt2 group (issue #4) below this line
        gpt2_entry(),

        // entries of the neo_j group (issue #4) below this line
        gptj_entry(),
        codegen_entry(),
        gpt_neo_entry(),

        // entries of the bloom group (issue #4) below this line
        bloom_entry(),

        // entries of the llama group (issue #4) below this line
        llama_entry(),
        mistral_entry(),
        qwen2_entry(),

        // entries of the phi3_gemma group (issue #4) below this line
        phi3_entry(),
        gemma_entry(),
    };
}

}  // namespace typeformer_cli
