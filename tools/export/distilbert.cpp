// The exporter's DistilBERT translation unit.
#include "typeformer/models/distilbert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry distilbert_entry() { return make_entry<typeformer::distilbert_family>(); }
}  // namespace typeformer_cli
