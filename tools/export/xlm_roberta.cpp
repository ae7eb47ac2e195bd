// The exporter's XLM-RoBERTa translation unit.
#include "typeformer/models/roberta.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry xlm_roberta_entry() { return make_entry<typeformer::xlm_roberta_family>(); }
}  // namespace typeformer_cli
