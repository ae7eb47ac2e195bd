// The exporter's RoFormer translation unit.
#include "typeformer/models/roformer.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry roformer_entry() { return make_entry<typeformer::roformer_family>(); }
}  // namespace typeformer_cli
