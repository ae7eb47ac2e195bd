// typeformer/layers/encoder.hpp: the blocks of a BERT-style text encoder.
//
// Each layer is a type with `reads`, `writes` and a static `forward` written
// once against the Backend concept. Architectures differ in module names, so
// the blocks take a names policy; the numbers come from the config's
// `shape()`, an `encoder_shape`.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "typeformer/core/config.hpp"
#include "typeformer/core/fields.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// The numbers every encoder block needs, whatever the config calls them.
struct encoder_shape {
    std::int64_t vocab_size, hidden_size, num_heads, intermediate_size, num_layers, max_positions,
        type_vocab_size;
    activation act;
    float eps;
    bool causal;
    std::int64_t num_labels;
    /// Width of the embedding tables when it differs from hidden_size (ALBERT,
    /// ELECTRA, MobileBERT); 0: the same as hidden_size.
    std::int64_t embedding_size = 0;
    /// Index of the first real position in the position table (RoBERTa's
    /// padding_idx + 1, where positions count from the padding index).
    std::int64_t position_offset = 0;
    /// Rows of the task-type table (ERNIE's `task_type_vocab_size` when
    /// `use_task_id`); 0: no task-type embeddings.
    std::int64_t task_type_vocab_size = 0;
    /// Rows of the 2-D position tables (LayoutLM's `max_2d_position_embeddings`,
    /// the range of its bbox coordinates); 0: none.
    std::int64_t max_2d_positions = 0;

    [[nodiscard]] constexpr std::int64_t embedding_width() const {
        return embedding_size > 0 ? embedding_size : hidden_size;
    }
};

/// Writes validation values for an int64 input: the values (row-major, of
/// the given shape), the model's shape, the generator to draw from.
using dummy_fill = void (*)(std::span<std::int64_t>, const std::vector<std::size_t>&, const encoder_shape&,
                            std::mt19937&);

/// The validation values of an int64 input that make_inputs does not know by
/// name (it knows input_ids, attention_mask, token_type_ids, position_ids and
/// the cache). A family lists one for each such input it takes, in
/// `using dummy_inputs = type_list<dummy_input<"bbox", &fill_boxes>>;`; an
/// input with neither does not compile (`input_has_no_validation_values`).
template <fixed_string Name, dummy_fill Fill>
struct dummy_input {
    static constexpr std::string_view name = Name.view();
    static constexpr dummy_fill fill = Fill;
};

/// pad_token_id where Transformers reads it only as the word embeddings'
/// padding_idx (BertEmbeddings and the embeddings that copy it):
/// nn.Embedding's padding_idx sets that row's initial value and gradient
/// only; the lookup reads the row the checkpoint stores either way.
using pad_id_is_padding_idx = no_effect<"pad_token_id", std::int64_t>;

/// BertLayer's add_cross_attention: a cross-attention sublayer after each
/// self-attention, for the decoder of an encoder-decoder model (extra weights,
/// fed encoder_hidden_states). The export builds none, so true is refused.
using cross_attention_refused =
    never<"add_cross_attention", "cross-attention sublayers, for the decoder of an encoder-decoder model, are not exported">;

/// The rows of the keys BertConfig has and the configs that copy it keep
/// (RoBERTa, DeBERTa, ELECTRA, BigBird, ...), with their rules, for a
/// config `C` whose members are named as the keys:
///   using fields = extend<bert_core_rows<self>, ...its own rows...>;
/// `HeadsDivide` false drops the rule that num_attention_heads divides
/// hidden_size (ConvBERT and MobileBERT attend at another width).
template <class C, bool HeadsDivide = true>
using bert_core_rows =
    field_table<field<"vocab_size", &C::vocab_size, rule::positive>, field<"hidden_size", &C::hidden_size, rule::positive>,
                field<"num_hidden_layers", &C::num_hidden_layers, rule::non_negative>,
                field<"num_attention_heads", &C::num_attention_heads, rule::positive>,
                std::conditional_t<HeadsDivide, multiple_of<"hidden_size", "num_attention_heads">, detail::row>,
                field<"intermediate_size", &C::intermediate_size, rule::positive>, field<"hidden_act", &C::hidden_act>,
                field<"max_position_embeddings", &C::max_position_embeddings, rule::positive>,
                field<"type_vocab_size", &C::type_vocab_size, rule::positive>,
                field<"layer_norm_eps", &C::layer_norm_eps, rule::positive>, encoder_generic_keys>;

/// BERT's module names inside one encoder layer (BertLayer), under `Stack`,
/// the layers' list ("bert.encoder.layer"): the names policy of
/// encoder_stack for BERT and the models that copy its layer.
template <fixed_string Stack>
struct bert_layer_names {
    static constexpr std::string_view stack = Stack.view(), q = "attention.self.query", k = "attention.self.key",
                                      v = "attention.self.value", attention = "attention.self",
                                      o = "attention.output.dense", attn_norm = "attention.output.LayerNorm",
                                      ffn_in = "intermediate.dense", ffn_out = "output.dense",
                                      out_norm = "output.LayerNorm";
};

/// BertEmbeddings' module names under `<Base>.embeddings`: the names policy
/// of `embeddings` for BERT and the models that copy it. `Positions` false:
/// no position table (RoFormer's positions are rotary); `Norm` false: no
/// LayerNorm in the embeddings (LayoutLM's comes after its box embeddings).
template <fixed_string Base, bool Positions = true, bool Norm = true>
struct bert_embedding_names {
private:
    static constexpr auto scope_name = detail::join<Base, "", ".embeddings">();

public:
    static constexpr std::string_view scope = scope_name.view(), word = "word_embeddings",
                                      position = Positions ? "position_embeddings" : "",
                                      token_type = "token_type_embeddings", norm = Norm ? "LayerNorm" : "";
};

/// BertOnlyMLMHead's module names (`cls.predictions`), its decoder tied to
/// `<Base>.embeddings.word_embeddings.weight`: the names policy of lm_head.
template <fixed_string Base>
struct bert_lm_names {
private:
    static constexpr auto tied = detail::join<Base, "", ".embeddings.word_embeddings.weight">();

public:
    static constexpr std::string_view transform = "cls.predictions.transform.dense",
                                      norm = "cls.predictions.transform.LayerNorm",
                                      decoder = "cls.predictions.decoder", tied_weight = tied.view(),
                                      tied_bias = "cls.predictions.bias";
};

/// The encoder_shape of a config with bert_core_rows' members (and
/// num_labels); `causal` for a decoder (BERT's is_decoder). A family sets
/// the shape's other members on the result.
template <class C>
[[nodiscard]] constexpr encoder_shape bert_like_shape(const C& c, bool causal = false) {
    return {.vocab_size = c.vocab_size,
            .hidden_size = c.hidden_size,
            .num_heads = c.num_attention_heads,
            .intermediate_size = c.intermediate_size,
            .num_layers = c.num_hidden_layers,
            .max_positions = c.max_position_embeddings,
            .type_vocab_size = c.type_vocab_size,
            .act = c.hidden_act,
            .eps = static_cast<float>(c.layer_norm_eps),
            .causal = causal,
            .num_labels = c.num_labels};
}

/// Config concept: a structural config with a shape() view.
template <class C>
concept EncoderConfig = requires(const C& c) {
    { c.shape() } -> std::same_as<encoder_shape>;
};

/// Where an embeddings layer takes its position ids from.
enum class position_ids_from {
    range,      ///< 0, 1, ..., S - 1 (BERT)
    input_ids,  ///< RoBERTa's create_position_ids_from_input_ids (see `embeddings`)
};

/// What an embeddings layer does beyond BERT's: the options of `embeddings`,
/// set by name (`embeddings<Names, embedding_options{.positions =
/// position_ids_from::input_ids}>`), so that a misspelt option does not compile.
struct embedding_options {
    /// range (BERT): 0, 1, ..., S - 1. input_ids (RoBERTa): the position of a
    /// token is pad + (its rank among the non-padding tokens), and a padding
    /// token's is pad, where pad = position_offset - 1 is both the padding
    /// token id and the padding row of the table (Transformers' padding_idx =
    /// pad_token_id): positions = cumsum(ids != pad) · (ids != pad) + pad.
    position_ids_from positions = position_ids_from::range;
    /// false for a model with a token-type table but no `token_type_ids`
    /// input (RoBERTa): every token adds row 0.
    bool token_type_input = true;
    /// ERNIE's task-type table (under the embeddings' scope), read from
    /// `task_type_ids` and added when encoder_shape::task_type_vocab_size > 0.
    module_name task_type{};
    /// The full module path of a Linear(embedding_size, hidden_size) applied
    /// after the LayerNorm when encoder_shape::embedding_size > 0 (ELECTRA
    /// `electra.embeddings_project`, ALBERT
    /// `albert.encoder.embedding_hidden_mapping_in`).
    module_name project{};
};

/// Word + learned absolute position (+ token type) (+ task type) embeddings,
/// then LayerNorm, then a Linear to hidden_size: BERT's, and with the
/// options (embedding_options) RoBERTa's, ELECTRA's, ALBERT's and ERNIE's.
///
/// Names: `scope`, `word`, `position` (empty: no position table, as
/// RoFormer, whose positions are rotary), `token_type` (empty: no
/// token-type table), `norm` (empty: no LayerNorm, as XLM-RoBERTa-XL).
/// Tables and LayerNorm are encoder_shape::embedding_width() wide.
template <class Names, embedding_options Options = embedding_options{}>
struct embeddings {
    static_assert(!requires { Names::positions; } && !requires { Names::token_type_input; } &&
                      !requires { Names::task_type; } && !requires { Names::project; },
                  "embeddings: positions, token_type_input, task_type and project are embedding_options, "
                  "not members of the Names policy");
    static constexpr bool token_types = !Names::token_type.empty();
    static constexpr bool token_types_read = token_types && Options.token_type_input;
    static constexpr std::string_view task_type = Options.task_type.view();
    static constexpr std::string_view project = Options.project.view();
    static constexpr position_ids_from positions = Options.positions;

    using reads = concat<slots<"input_ids">, std::conditional_t<token_types_read, slots<"token_type_ids">, slots<>>,
                         std::conditional_t<task_type.empty(), slots<>, slots<"task_type_ids">>>;
    using writes = slots<"hidden_states">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<embeddings, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto width = sh.embedding_width();
        typename B::value h;
        {
            auto guard = b.scope(Names::scope);
            const auto& ids = s[sl::input_ids];
            auto table = [&](std::string_view name, std::int64_t rows) {
                return b.param(std::string(name) + ".weight", {rows, width});
            };
            h = b.gather(table(Names::word, sh.vocab_size), ids);
            if constexpr (!Names::position.empty())
                h = b.add(h, b.gather(table(Names::position, sh.max_positions), position_ids(b, ids, sh)));
            if constexpr (token_types_read)
                h = b.add(h, b.gather(table(Names::token_type, sh.type_vocab_size), s[sl::token_type_ids]));
            else if constexpr (token_types)
                h = b.add(h, b.select(table(Names::token_type, sh.type_vocab_size), 0, 0));
            if constexpr (!task_type.empty())
                if (sh.task_type_vocab_size > 0)
                    h = b.add(h, b.gather(table(task_type, sh.task_type_vocab_size), s[slot<"task_type_ids">{}]));
            if constexpr (!Names::norm.empty()) h = layer_norm(b, Names::norm, h, width, sh.eps);
        }
        if constexpr (!project.empty())
            if (sh.embedding_size > 0) h = dense(b, project, h, width, sh.hidden_size);
        s.set(sl::hidden_states, h);
    }

private:
    template <Backend B>
    static typename B::value position_ids(B& b, const typename B::value& ids, const encoder_shape& sh) {
        if constexpr (positions == position_ids_from::range) {
            return b.range(ids, 1);
        } else {
            auto guard = b.scope("position_ids");
            auto pad = b.constant_i64({sh.position_offset - 1});
            auto real = b.cast(b.not_equal(ids, pad), dtype::i64);
            return b.add(b.mul(b.cumsum(real, -1), real), pad);
        }
    }
};

/// The additive attention bias from `attention_mask` (causal when the config is a decoder).
struct mask_to_bias {
    using reads = slots<"attention_mask">;
    using writes = slots<"attention_bias">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<mask_to_bias, typename B::value> s, const C& c) {
        auto guard = b.scope("extended_attention_mask");
        s.set(sl::attention_bias, attention_bias(b, s[sl::attention_mask], c.shape().causal));
    }
};

/// Where a block's LayerNorms sit: after each residual sum (BERT: LN(x + f(x)))
/// or before each sublayer (x + f(LN(x))).
enum class norm_placement { post, pre };

/// What the stack hands every block: the additive attention bias itself
/// (BERT), or a context struct whose `bias` member is it (rotary tables,
/// relative embeddings ride along in the struct).
template <class V, class Ctx>
const V& attention_bias_of(const Ctx& ctx) {
    if constexpr (requires { ctx.bias; }) return ctx.bias;
    else return ctx;
}

/// The identity position transform: BERT's positions are in the embeddings.
struct no_position_transform {
    template <Backend B, class Ctx>
    static void apply(B&, typename B::value&, typename B::value&, typename B::value&, const Ctx&,
                      const encoder_shape&) {}
};

/// Multi-head self-attention as BERT spells it: q, k, v Linears, scaled dot
/// product with the additive bias, then the output Linear `o`.
/// Names: `q`, `k`, `v`, `attention` (the scope of the score computation), `o`.
/// An attention policy has this signature; `Ctx` is whatever the stack's
/// context policy made (BERT: the additive bias). `Positions` transforms the
/// projected q, k, v before the scores (RoFormer: rotary, layers/rotary.hpp).
template <class Names, class Positions = no_position_transform>
struct self_attention {
    template <Backend B, class Ctx>
    static typename B::value forward(B& b, const typename B::value& x, const Ctx& ctx, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        auto q = dense(b, Names::q, x, hsz, hsz);
        auto k = dense(b, Names::k, x, hsz, hsz);
        auto v = dense(b, Names::v, x, hsz, hsz);
        const float scale = 1.f / std::sqrt(static_cast<float>(hsz / sh.num_heads));
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            Positions::apply(b, q, k, v, ctx, sh);
            out = b.attention(q, k, v, &attention_bias_of<typename B::value>(ctx), sh.num_heads, scale);
        }
        return dense(b, Names::o, out, hsz, hsz);
    }
};

/// The position-wise feed-forward: Linear, activation, Linear.
/// Names: `ffn_in`, `ffn_out`.
template <class Names>
struct feed_forward {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const encoder_shape& sh) {
        auto f = activate(b, sh.act, dense(b, Names::ffn_in, x, sh.hidden_size, sh.intermediate_size));
        return dense(b, Names::ffn_out, f, sh.intermediate_size, sh.hidden_size);
    }
};

namespace detail {
/// A feed-forward policy takes (b, x, sh), or (b, x, ctx, sh) when it needs
/// what the stack hands the block (SqueezeBERT: the config's conv groups).
template <class Ffn, class B, class Ctx>
typename B::value run_ffn(B& b, const typename B::value& x, const Ctx& ctx, const encoder_shape& sh) {
    if constexpr (requires { Ffn::forward(b, x, ctx, sh); }) return Ffn::forward(b, x, ctx, sh);
    else return Ffn::forward(b, x, sh);
}
}  // namespace detail

/// One transformer encoder block, the template every text encoder shares:
///   post-LN (default): h = LN_a(x + Attn(x));  y = LN_o(h + FFN(h))
///   pre-LN:            h = x + Attn(LN_a(x));  y = h + FFN(LN_o(h))
/// Names: `attn_norm`, `out_norm`, plus what the attention and feed-forward
/// policies read.
template <class Names, class Attention = self_attention<Names>, class Ffn = feed_forward<Names>,
          norm_placement Placement = norm_placement::post>
struct encoder_block {
    static_assert(!requires { Names::placement; },
                  "encoder_block: the norm placement is its Placement argument, not a member of the Names policy");
    static constexpr norm_placement placement = Placement;

    template <Backend B, class Ctx>
    static typename B::value forward(B& b, const typename B::value& x, const Ctx& ctx, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        if constexpr (placement == norm_placement::post) {
            auto h = layer_norm(b, Names::attn_norm, b.add(x, Attention::forward(b, x, ctx, sh)), hsz, sh.eps);
            return layer_norm(b, Names::out_norm, b.add(h, detail::run_ffn<Ffn>(b, h, ctx, sh)), hsz, sh.eps);
        } else {
            auto h = b.add(x, Attention::forward(b, layer_norm(b, Names::attn_norm, x, hsz, sh.eps), ctx, sh));
            return b.add(h, detail::run_ffn<Ffn>(b, layer_norm(b, Names::out_norm, h, hsz, sh.eps), ctx, sh));
        }
    }
};

/// The default stack context: the additive attention bias, handed to every block.
struct bias_context {
    using reads = slots<"attention_bias">;

    template <Backend B, class Io, EncoderConfig C>
    static typename B::value make(B&, const Io& s, const C&) {
        return s[sl::attention_bias];
    }
};

/// num_layers blocks at `<Names::stack>.<i>`. `Context` computes, once per
/// graph, what every block is handed (`make(b, slots, config)`, reading the
/// slots it lists in `reads`): by default the attention bias; RoFormer's
/// rotary_context adds the sin/cos tables, so they are built once, not per layer.
template <class Names, class Block = encoder_block<Names>, class Context = bias_context>
struct encoder_stack {
    using reads = concat<slots<"hidden_states">, typename Context::reads>;
    using writes = slots<"hidden_states">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<encoder_stack, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto h = s[sl::hidden_states];
        const auto ctx = Context::template make<B>(b, s, c);
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            auto guard = b.scope(std::string(Names::stack) + "." + std::to_string(i));
            h = Block::forward(b, h, ctx, sh);
        }
        s.set(sl::hidden_states, h);
    }
};

/// A LayerNorm over the hidden states at `Scope`: the final norm of a pre-LN
/// stack (XLM-RoBERTa-XL's `encoder.LayerNorm`).
template <fixed_string Scope>
struct final_layer_norm {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<final_layer_norm, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        s.set(sl::hidden_states, layer_norm(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.eps));
    }
};

/// A config whose layers are shared in groups (ALBERT): `num_hidden_groups`
/// groups of `inner_group_num` blocks each.
template <class C>
concept GroupedConfig = EncoderConfig<C> && requires(const C& c) {
    { c.num_hidden_groups } -> std::convertible_to<std::int64_t>;
    { c.inner_group_num } -> std::convertible_to<std::int64_t>;
};

/// ALBERT's shared layers: num_layers steps; step i runs every block of group
/// floor(i / (num_layers / num_hidden_groups)) (that quotient in floating
/// point, as Transformers computes it), the blocks at
/// `<Names::groups>.<g>.<Names::group_layers>.<j>`, j < inner_group_num.
/// The weights are shared: the ONNX graph repeats the nodes over the same
/// initializers. Names: `groups`, `group_layers`, plus what Block reads.
template <class Names, class Block = encoder_block<Names>>
struct grouped_encoder_stack {
    using reads = slots<"hidden_states", "attention_bias">;
    using writes = slots<"hidden_states">;

    template <Backend B, GroupedConfig C>
    static void forward(B& b, io<grouped_encoder_stack, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto groups = static_cast<std::int64_t>(c.num_hidden_groups);
        const auto inner = static_cast<std::int64_t>(c.inner_group_num);
        auto h = s[sl::hidden_states];
        const auto& bias = s[sl::attention_bias];
        const double per_group = static_cast<double>(sh.num_layers) / static_cast<double>(groups);
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            const auto g = static_cast<std::int64_t>(static_cast<double>(i) / per_group);
            for (std::int64_t j = 0; j < inner; ++j) {
                auto guard = b.scope(std::string(Names::groups) + "." + std::to_string(g) + "." +
                                     std::string(Names::group_layers) + "." + std::to_string(j));
                h = Block::forward(b, h, bias, sh);
            }
        }
        s.set(sl::hidden_states, h);
    }
};

/// A stack context (encoder_stack's Context policy) handing every block the
/// attention bias and the whole config, for blocks whose structure depends on
/// more of the config than encoder_shape holds (SqueezeBERT's conv groups,
/// MobileBERT's bottlenecks): blocks get a `bias_and_config<value, Config>`.
template <class V, class C>
struct bias_and_config {
    V bias;
    C config;
};
struct config_context {
    using reads = slots<"attention_bias">;

    template <Backend B, class Io, class C>
    static bias_and_config<typename B::value, C> make(B&, const Io& s, const C& c) {
        return {s[sl::attention_bias], c};
    }
};

/// A grouped Linear: the channels of x [..., g·i] split into g groups, group
/// j mapped by w[j] ([i, o]) to output channels [j·o, (j+1)·o); plus bias
/// [g·o] when given. One broadcast MatMul over [..., g, 1, i] x [g, i, o].
/// (ConvBERT's GroupedLinearLayer stores w so; a grouped 1x1 Conv1d is the
/// same map with w = weight.reshape(g, o, i).transpose(1, 2).)
template <Backend B>
typename B::value grouped_linear(B& b, const typename B::value& x, const typename B::value& w,
                                 const typename B::value* bias, std::int64_t groups, std::int64_t in,
                                 std::int64_t out) {
    std::vector<std::int64_t> split(x.rank() - 1, 0), merge(x.rank() - 1, 0);
    split.insert(split.end(), {groups, 1, in / groups});
    merge.push_back(out);
    auto y = b.reshape(b.matmul(b.reshape(x, split), w), merge);
    return bias ? b.add(y, *bias) : y;
}

/// nn.Conv1d(in, out, kernel_size=1, groups) at `scope` applied at every
/// position of x [..., in] (channels last): for the [batch, channels,
/// sequence] tensors of SqueezeBERT, Conv1d(k=1) is this map with the layout
/// transposed, so the stack keeps [batch, sequence, channels] throughout.
template <Backend B>
typename B::value conv1x1(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                          std::int64_t out, std::int64_t groups) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {out, in / groups, 1});
    const auto& bias = b.param("bias", {out});
    if (groups == 1) return b.linear(x, b.reshape(w, {out, in}), &bias);
    auto w_gio = b.transpose(b.reshape(w, {groups, out / groups, in / groups}), {0, 2, 1});
    return grouped_linear(b, x, w_gio, &bias, groups, in, out);
}

}  // namespace typeformer::inline v0
