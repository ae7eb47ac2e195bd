// The exporter's I-BERT translation unit.
#include "typeformer/models/roberta.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry ibert_entry() { return make_entry<typeformer::ibert_family>(); }
}  // namespace typeformer_cli
