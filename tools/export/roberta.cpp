// The exporter's RoBERTa translation unit.
#include "typeformer/models/roberta.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry roberta_entry() { return make_entry<typeformer::roberta_family>(); }
}  // namespace typeformer_cli
