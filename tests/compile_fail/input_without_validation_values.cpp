// Must not compile: a family takes an input that make_inputs does not know
// by name (entity_ids) and gives it no validation values (no dummy_input in
// its dummy_inputs), so validation could not feed it.
// Expected: "input_has_no_validation_values<typeformer::v0::slot<typeformer::v0::fixed_string<11>{\"entity_ids\"}>"
#include "typeformer/export/make_handle.hpp"
#include "typeformer/models/bert.hpp"

namespace tf = typeformer;

struct entity_family : tf::bert_family {
    template <class Task>
    static auto inputs(Task)
        -> tf::task::text_inputs<Task, "input_ids", "attention_mask", "token_type_ids", "entity_ids">;
};

int main() { return tf::make_inputs<tf::model_of<entity_family, tf::task::default_>, tf::dummy_inputs_of<entity_family>>(tf::bert_config{}, {}).size() > 0 ? 0 : 1; }
