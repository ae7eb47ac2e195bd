// typeformer/layers/heads.hpp: task heads shared by the encoder families.
//
// A head is a layer like any other: it reads slots the trunk wrote and
// writes the task's output slots. Module names come in as template
// arguments, so one head serves every family that spells it differently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/encoder.hpp"

namespace typeformer::inline v0 {

/// The encoder's output as `last_hidden_state`.
struct expose_hidden_states {
    using reads = slots<"hidden_states">;
    using writes = slots<"last_hidden_state">;

    template <Backend B, class C>
    static void forward(B&, io<expose_hidden_states, typename B::value> s, const C&) {
        s.set(sl::last_hidden_state, s[sl::hidden_states]);
    }
};

/// Multiple choice: [batch, choice, sequence] inputs are folded to
/// [batch·choice, sequence]; `choice_shape` keeps (batch, choice) for the head.
template <fixed_string... Inputs>
struct fold_choices {
    using reads = slots<Inputs...>;
    using writes = concat<slots<Inputs...>, slots<"choice_shape">>;

    template <Backend B, class C>
    static void forward(B& b, io<fold_choices, typename B::value> s, const C&) {
        auto guard = b.scope("fold_choices");
        s.set(sl::choice_shape, b.shape(s[slot<first_name<Inputs...>()>{}], 0, 2));
        (s.set(slot<Inputs>{}, b.flatten(s[slot<Inputs>{}], 2)), ...);
    }

private:
    template <fixed_string F, fixed_string...>
    static constexpr auto first_name() { return F; }
};

namespace detail {
/// An activation given as a value (`activation::tanh`) or as a pointer to the
/// config member that names it (`&electra_config::hidden_act`).
template <auto Act, class C>
constexpr activation resolve_activation(const C& c) {
    if constexpr (std::is_member_object_pointer_v<decltype(Act)>) return c.*Act;
    else return Act;
}
}  // namespace detail

/// The first token's hidden state through `Scope` (a Linear) and an activation:
/// BERT's pooler (tanh), DistilBERT's pre_classifier (ReLU). `Act` is an
/// `activation` or a pointer to the config member naming one.
template <fixed_string Scope, auto Act>
struct first_token_pooler {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<first_token_pooler, typename B::value> s, const C& c) {
        const auto hsz = c.shape().hidden_size;
        auto first = b.select(s[sl::hidden_states], 1, 0);
        s.set(sl::pooled_output,
              activate(b, detail::resolve_activation<Act>(c), dense(b, Scope.view(), first, hsz, hsz)));
    }
};

/// A Linear classifier over the pooled output: `logits` [batch, num_labels],
/// or, for multiple choice, one score per choice folded back to [batch, choice].
template <fixed_string Scope, bool Choices = false>
struct pooled_classifier {
    using reads = std::conditional_t<Choices, slots<"pooled_output", "choice_shape">, slots<"pooled_output">>;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<pooled_classifier, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto logits = dense(b, Scope.view(), s[sl::pooled_output], sh.hidden_size, Choices ? 1 : sh.num_labels);
        if constexpr (Choices) {
            auto guard = b.scope("unfold_choices");
            logits = b.reshape(logits, s[sl::choice_shape]);
        }
        s.set(sl::logits, logits);
    }
};

/// A Linear classifier on every token: `logits` [batch, sequence, num_labels].
template <fixed_string Scope>
struct token_classifier {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<token_classifier, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        s.set(sl::logits, dense(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.num_labels));
    }
};

/// Extractive question answering: a Linear to 2 scores per token, split into
/// `start_logits` and `end_logits` [batch, sequence].
template <fixed_string Scope>
struct span_classifier {
    using reads = slots<"hidden_states">;
    using writes = slots<"start_logits", "end_logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<span_classifier, typename B::value> s, const C& c) {
        auto logits = dense(b, Scope.view(), s[sl::hidden_states], c.shape().hidden_size, 2);
        auto guard = b.scope(Scope.view());
        s.set(sl::start_logits, b.select(logits, -1, 0));
        s.set(sl::end_logits, b.select(logits, -1, 1));
    }
};

/// A language-model head: Linear, activation, LayerNorm, then the decoder to
/// the vocabulary, whose weight is tied to the word embeddings when the
/// config says so. The transform maps hidden_size to the embedding width
/// (encoder_shape::embedding_width(): ALBERT and ELECTRA predict from a
/// narrower embedding space). Names: `transform`, `norm`, `decoder`,
/// `tied_weight`, `tied_bias` (empty: the decoder's bias is its own), and
/// optionally `act` (an activation that overrides the config's hidden_act).
template <class Names>
struct lm_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<lm_head, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto width = sh.embedding_width();
        activation act = sh.act;
        if constexpr (requires { Names::act; }) act = Names::act;
        auto h = activate(b, act, dense(b, Names::transform, s[sl::hidden_states], sh.hidden_size, width));
        h = layer_norm(b, Names::norm, h, width, sh.eps);
        s.set(sl::logits, dense(b, Names::decoder, h, width, sh.vocab_size,
                                c.tie_word_embeddings ? Names::tied_weight : std::string_view{}, Names::tied_bias));
    }
};

// shared layers added by the roberta group (issue #3) go below this line

// shared layers added by the albert group (issue #3) go below this line

// shared layers added by the mobilebert group (issue #3) go below this line

// shared layers added by the convbert group (issue #3) go below this line

// shared layers added by the deberta group (issue #3) go below this line

// shared layers added by the sparse group (issue #3) go below this line

}  // namespace typeformer::inline v0
