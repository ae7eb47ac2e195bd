// The exporter's qwen2 translation unit (the Llama family, models/llama.hpp).
#include "typeformer/models/llama.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry qwen2_entry() { return make_entry<typeformer::qwen2_family>(); }
}  // namespace typeformer_cli
