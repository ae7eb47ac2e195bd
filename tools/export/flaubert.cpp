// The exporter's FlauBERT translation unit.
#include "typeformer/models/flaubert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry flaubert_entry() { return make_entry<typeformer::flaubert_family>(); }
}  // namespace typeformer_cli
