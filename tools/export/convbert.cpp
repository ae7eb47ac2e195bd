// The exporter's ConvBERT translation unit.
#include "typeformer/models/convbert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry convbert_entry() { return make_entry<typeformer::convbert_family>(); }
}  // namespace typeformer_cli
