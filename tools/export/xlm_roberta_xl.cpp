// The exporter's XLM-RoBERTa-XL translation unit.
#include "typeformer/models/roberta.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry xlm_roberta_xl_entry() { return make_entry<typeformer::xlm_roberta_xl_family>(); }
}  // namespace typeformer_cli
