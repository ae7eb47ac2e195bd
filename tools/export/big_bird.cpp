// The exporter's BigBird translation unit.
#include "typeformer/models/big_bird.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry big_bird_entry() { return make_entry<typeformer::big_bird_family>(); }
}  // namespace typeformer_cli
