// A family that lacks load(): registering it fails with the name of what is missing.
#include <typeformer/export/make_handle.hpp>
#include <typeformer/models/bert.hpp>

namespace tf = typeformer;

struct no_load_family {
    static constexpr std::string_view model_type = "no-load";
    static constexpr std::string_view base_prefix = "bert";
    static constexpr double atol = 1e-5;
    using config = tf::bert_config;
    using features = tf::type_list<tf::task::default_>;
    static std::vector<std::string> ignored() { return {}; }
    template <class Task>
    static auto inputs(Task) -> tf::task::text_inputs<Task, "input_ids", "attention_mask">;
    static auto layers(tf::task::default_) -> tf::concat<tf::bert_family::trunk, tf::type_list<tf::expose_hidden_states>>;
};

int main() { return static_cast<int>(tf::handle_of<no_load_family>().features.size()); }
