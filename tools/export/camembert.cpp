// The exporter's CamemBERT translation unit.
#include "typeformer/models/roberta.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry camembert_entry() { return make_entry<typeformer::camembert_family>(); }
}  // namespace typeformer_cli
