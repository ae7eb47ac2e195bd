// The exporter's DeBERTa-v2 translation unit.
#include "typeformer/models/deberta_v2.hpp"

#include "run.hpp"

namespace typeformer_cli {
/// token_type_ids is an input iff the config's type_vocab_size > 0: the family is chosen per config.
family_entry deberta_v2_entry() {
    auto e = make_entry<tf::deberta_v2_family<false>>();
    e.run = [](const request& req, const nlohmann::json& json) {
        const auto tv = json.contains("type_vocab_size") && json["type_vocab_size"].is_number_integer()
                            ? json["type_vocab_size"].get<std::int64_t>()
                            : 0;
        return tf::with_token_types<tf::deberta_v2_family>(tv, [&]<class F>() { return run_family<F>(req, json); });
    };
    return e;
}
}  // namespace typeformer_cli
