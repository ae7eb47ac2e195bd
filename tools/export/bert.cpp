// The exporter's BERT translation unit.
#include "typeformer/models/bert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry bert_entry() { return make_entry<typeformer::bert_family>(); }
}  // namespace typeformer_cli
