// Must not compile: a layer reads a slot it did not declare in `reads`.
// Expected: "a layer reads a slot that is not in its `reads` list"
#include "typeformer/backend/eval.hpp"
#include "typeformer/core/slots.hpp"

namespace tf = typeformer;

struct sloppy_layer {
    using reads = tf::slots<"hidden_states">;
    using writes = tf::slots<"logits">;
    template <class B, class C>
    static void forward(B&, tf::io<sloppy_layer, typename B::value> s, const C&) {
        s.set(tf::sl::logits, s[tf::sl::attention_mask]);  // not declared
    }
};

int main() {
    tf::eval_backend b;
    tf::slot_store<tf::eval_value> store;
    sloppy_layer::forward(b, tf::io<sloppy_layer, tf::eval_value>(store), 0);
}
