// The exporter's Longformer translation unit.
#include "typeformer/models/longformer.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry longformer_entry() { return make_entry<typeformer::longformer_family>(); }
}  // namespace typeformer_cli
