// The exporter's BLOOM translation unit.
#include "typeformer/models/bloom.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry bloom_entry() { return make_entry<typeformer::bloom_family>(); }
}  // namespace typeformer_cli
