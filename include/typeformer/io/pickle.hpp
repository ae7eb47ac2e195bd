// typeformer/io/pickle.hpp: a restricted reader for the pickles of PyTorch
// state dicts. It never executes anything.
//
// Python's pickle is a small stack machine whose GLOBAL and REDUCE opcodes
// import and call arbitrary functions: unpickling an untrusted file runs
// whatever it names (os.system, eval, ...). This reader interprets the
// opcodes itself and knows only the handful of globals a state dict written by
// torch.save uses; each is given its meaning here, by name:
//
//   collections.OrderedDict              an (ordered) dict
//   torch._utils._rebuild_tensor_v2      a tensor view: storage, offset, size, stride
//   torch._utils._rebuild_tensor         the same, older spelling
//   torch._utils._rebuild_parameter      an nn.Parameter: its data
//   torch.<Type>Storage                  an element type, inside a storage's persistent id
//     (Double, Float, Half, BFloat16, Long, Int, Short, Char, Byte, Bool)
//
// Any other global (os.system, builtins.eval, torch.load, ...) is refused as
// soon as its GLOBAL opcode is read, and so is every opcode that builds or
// calls objects in another way (INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT*, PERSID)
// or is not listed below. Persistent ids (BINPERSID), which torch.save uses
// for tensor storages, are read as ('storage', <Type>Storage, key, location,
// numel[, None]) and become storage references; nothing is loaded.
//
// Supported opcodes (protocols 2 to 5, as torch.save writes them): PROTO FRAME
// STOP MARK POP POP_MARK DUP NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1
// LONG4 BINFLOAT SHORT_BINUNICODE BINUNICODE BINUNICODE8 SHORT_BINSTRING
// BINSTRING SHORT_BINBYTES BINBYTES BINBYTES8 EMPTY_TUPLE TUPLE TUPLE1 TUPLE2
// TUPLE3 EMPTY_LIST LIST APPEND APPENDS EMPTY_DICT DICT SETITEM SETITEMS BINPUT
// LONG_BINPUT MEMOIZE BINGET LONG_BINGET GLOBAL STACK_GLOBAL REDUCE BUILD
// BINPERSID.
//
// Every length is checked against the bytes left; values live in an arena
// owned by the result (memo references and cycles cost nothing); the stack and
// the memo are bounded by the input's size.
//
// Errors: pickle.refused (an opcode or a global outside the list: the file is
// not a plain state dict, or is malicious), pickle.format (truncated or
// malformed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "typeformer/core/dtype.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"

namespace typeformer::inline v0 {

/// One value the pickle built. Owned by its pickle_data.
struct pickle_node {
    enum class kind : std::uint8_t {
        none, boolean, integer, big_integer, floating, string, bytes, tuple, list, dict, global, storage, tensor
    };
    kind type = kind::none;
    std::int64_t integer = 0;   // boolean, integer; storage: numel; tensor: storage offset (elements)
    double floating = 0;
    std::string text;           // string, bytes; big_integer: little-endian bytes; global: "module.name"; storage: key
    std::vector<pickle_node*> items;  // tuple, list; dict: key, value, key, value, ...; tensor: {storage}
    dtype element = dtype::f32;       // storage (and the storage-type global)
    std::string location;             // storage: "cpu", "cuda:0", ...
    std::vector<std::int64_t> shape, stride;  // tensor

    [[nodiscard]] bool is(kind k) const noexcept { return type == k; }
};

[[nodiscard]] constexpr std::string_view kind_name(pickle_node::kind k) noexcept {
    using K = pickle_node::kind;
    switch (k) {
        case K::none: return "None";
        case K::boolean: return "bool";
        case K::integer: case K::big_integer: return "int";
        case K::floating: return "float";
        case K::string: return "str";
        case K::bytes: return "bytes";
        case K::tuple: return "tuple";
        case K::list: return "list";
        case K::dict: return "dict";
        case K::global: return "global";
        case K::storage: return "storage";
        case K::tensor: return "tensor";
    }
    return "?";
}

/// The storage-type globals torch.save writes, and their element types.
[[nodiscard]] const pickle_node* find_storage_type(std::string_view name);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE const pickle_node* find_storage_type(std::string_view name) {
    struct entry { std::string_view name; dtype type; };
    static constexpr entry table[] = {
        {"torch.DoubleStorage", dtype::f64}, {"torch.FloatStorage", dtype::f32}, {"torch.HalfStorage", dtype::f16},
        {"torch.BFloat16Storage", dtype::bf16}, {"torch.LongStorage", dtype::i64}, {"torch.IntStorage", dtype::i32},
        {"torch.ShortStorage", dtype::i16}, {"torch.CharStorage", dtype::i8}, {"torch.ByteStorage", dtype::u8},
        {"torch.BoolStorage", dtype::boolean}};
    static const std::deque<pickle_node> nodes = [] {
        std::deque<pickle_node> d;
        for (const auto& e : table) {
            pickle_node n;
            n.type = pickle_node::kind::global;
            n.text = std::string(e.name);
            n.element = e.type;
            d.push_back(std::move(n));
        }
        return d;
    }();
    for (const auto& n : nodes)
        if (n.text == name) return &n;
    return nullptr;
}
#endif

/// The callable globals a state dict uses.
inline constexpr std::string_view pickle_allowed_callables[] = {
    "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter"};

/// The result of reading a pickle: the value STOP returned, and the arena.
class pickle_data {
public:
    [[nodiscard]] const pickle_node& root() const noexcept { return *root_; }
    /// Bytes consumed (the pickle ends at its STOP opcode).
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// Read one pickle from the start of `bytes`; `where` names it in errors.
    static pickle_data read(std::span<const std::byte> bytes, std::string_view where);

private:
    pickle_node* make(pickle_node::kind k);

    std::deque<pickle_node> nodes_;  // stable addresses
    const pickle_node* root_ = nullptr;
    std::size_t size_ = 0;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto pickle_data::make(pickle_node::kind k) -> pickle_node* {
    nodes_.emplace_back();
    nodes_.back().type = k;
    return &nodes_.back();
}
#endif  // TYPEFORMER_DEFINITIONS

namespace detail::pickle {

/// Fit a pickle LONG (little-endian two's complement) into int64, if it does.
bool long_to_i64(std::span<const std::byte> b, std::int64_t& out);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool long_to_i64(std::span<const std::byte> b, std::int64_t& out) {
    if (b.empty()) {
        out = 0;
        return true;
    }
    if (b.size() > 8) {
        // allowed if the extra bytes are pure sign extension
        const auto sign = (std::to_integer<unsigned>(b[7]) & 0x80u) ? std::byte{0xff} : std::byte{0};
        for (std::size_t k = 8; k < b.size(); ++k)
            if (b[k] != sign) return false;
        b = b.first(8);
    }
    std::uint64_t u = 0;
    for (std::size_t k = 0; k < b.size(); ++k) u |= std::uint64_t{std::to_integer<unsigned>(b[k])} << (8 * k);
    if (b.size() < 8 && (std::to_integer<unsigned>(b.back()) & 0x80u)) u |= ~std::uint64_t{0} << (8 * b.size());
    std::memcpy(&out, &u, 8);
    return true;
}
#endif

}  // namespace detail::pickle

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE pickle_data pickle_data::read(std::span<const std::byte> bytes, std::string_view where) {
    using K = pickle_node::kind;
    pickle_data out;
    std::vector<pickle_node*> stack;
    std::vector<std::size_t> marks;
    std::unordered_map<std::uint64_t, pickle_node*> memo;
    std::size_t pos = 0, op_at = 0;
    std::uint8_t op = 0;

    auto op_name = [&]() {
        char buf[8];
        const bool printable = op >= 0x21 && op < 0x7f;
        std::snprintf(buf, sizeof buf, printable ? "'%c'" : "0x%02x", op);
        return std::string(buf);
    };
    auto fail = [&](std::string_view id, const std::string& msg) -> void {
        throw error(id, std::string(where) + ": pickle byte " + std::to_string(op_at) + ": " + msg);
    };
    auto need = [&](std::size_t n) -> std::span<const std::byte> {
        if (bytes.size() - pos < n)
            fail("pickle.format", "truncated: opcode " + op_name() + " needs " + std::to_string(n) + " bytes, " +
                                      std::to_string(bytes.size() - pos) + " left");
        auto s = bytes.subspan(pos, n);
        pos += n;
        return s;
    };
    auto uint_le = [&](std::size_t n) -> std::uint64_t {
        const auto s = need(n);
        std::uint64_t u = 0;
        for (std::size_t k = 0; k < n; ++k) u |= std::uint64_t{std::to_integer<unsigned>(s[k])} << (8 * k);
        return u;
    };
    auto text = [&](std::uint64_t n) {
        if (n > bytes.size() - pos)
            fail("pickle.format", "truncated: a string of " + std::to_string(n) + " bytes, " +
                                      std::to_string(bytes.size() - pos) + " left");
        const auto s = need(static_cast<std::size_t>(n));
        return std::string(reinterpret_cast<const char*>(s.data()), s.size());
    };
    auto line = [&]() {
        std::string s;
        while (true) {
            const auto c = static_cast<char>(need(1)[0]);
            if (c == '\n') return s;
            s += c;
            if (s.size() > 256) fail("pickle.format", "GLOBAL name longer than 256 bytes");
        }
    };
    auto pop = [&]() {
        if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
            fail("pickle.format", "opcode " + op_name() + " pops from an empty stack");
        auto* v = stack.back();
        stack.pop_back();
        return v;
    };
    auto top = [&]() {
        if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
            fail("pickle.format", "opcode " + op_name() + " reads an empty stack");
        return stack.back();
    };
    auto pop_mark = [&]() {
        if (marks.empty()) fail("pickle.format", "opcode " + op_name() + " without a MARK");
        const std::size_t m = marks.back();
        marks.pop_back();
        std::vector<pickle_node*> items(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
        stack.resize(m);
        return items;
    };
    auto push = [&](pickle_node* n) { stack.push_back(n); };
    auto make_global = [&](const std::string& module, const std::string& name) -> pickle_node* {
        const std::string full = module + "." + name;
        if (const auto* st = find_storage_type(full)) {
            auto* n = out.make(K::global);
            n->text = full;
            n->element = st->element;
            return n;
        }
        for (auto allowed : pickle_allowed_callables)
            if (full == allowed) {
                auto* n = out.make(K::global);
                n->text = full;
                return n;
            }
        fail("pickle.refused",
             "refusing global " + full +
                 ": a PyTorch state dict only needs collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                 "torch._utils._rebuild_parameter and torch.*Storage; this file is not a plain state dict "
                 "(nothing was executed)");
        return nullptr;
    };
    auto as_int = [&](const pickle_node* n, std::string_view what) {
        if (!n->is(K::integer)) fail("pickle.format", std::string(what) + " is a " + std::string(kind_name(n->type)) + ", expected an int");
        return n->integer;
    };
    auto int_tuple = [&](const pickle_node* n, std::string_view what) {
        if (!n->is(K::tuple) && !n->is(K::list))
            fail("pickle.format", std::string(what) + " is a " + std::string(kind_name(n->type)) + ", expected a tuple");
        std::vector<std::int64_t> v;
        for (const auto* x : n->items) {
            const auto i = as_int(x, what);
            if (i < 0) fail("pickle.format", std::string(what) + " has a negative entry");
            v.push_back(i);
        }
        return v;
    };
    auto set_items = [&](pickle_node* dict, const std::vector<pickle_node*>& kv) {
        if (!dict->is(K::dict)) fail("pickle.format", "SETITEM(S) on a " + std::string(kind_name(dict->type)) + ", expected a dict");
        if (kv.size() % 2) fail("pickle.format", "SETITEMS with an odd number of items");
        // keys are kept as given, duplicates included: the reader of the dict decides
        dict->items.insert(dict->items.end(), kv.begin(), kv.end());
    };
    auto call = [&](pickle_node* fn, pickle_node* args) -> pickle_node* {
        if (!fn->is(K::global) || find_storage_type(fn->text))
            fail("pickle.refused", "REDUCE calls a " + (fn->is(K::global) ? fn->text : std::string(kind_name(fn->type))) +
                                       ", which is not a callable this reader knows");
        if (!args->is(K::tuple)) fail("pickle.format", "REDUCE arguments are a " + std::string(kind_name(args->type)));
        const auto& a = args->items;
        if (fn->text == "collections.OrderedDict") {
            auto* d = out.make(K::dict);
            if (a.size() > 1) fail("pickle.format", "OrderedDict() with more than one argument");
            if (a.size() == 1) {
                if (!a[0]->is(K::list) && !a[0]->is(K::tuple))
                    fail("pickle.format", "OrderedDict() of a " + std::string(kind_name(a[0]->type)));
                for (const auto* pair : a[0]->items) {
                    if (!pair->is(K::tuple) || pair->items.size() != 2) fail("pickle.format", "OrderedDict() item is not a pair");
                    set_items(d, pair->items);
                }
            }
            return d;
        }
        if (fn->text == "torch._utils._rebuild_parameter") {
            if (a.size() < 1 || !a[0]->is(K::tensor))
                fail("pickle.format", "_rebuild_parameter expects a tensor as its first argument");
            return a[0];
        }
        // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]); _rebuild_tensor(storage, offset, size, stride)
        const bool v2 = fn->text == "torch._utils._rebuild_tensor_v2";
        if (a.size() < 4 || (v2 && a.size() < 6) || a.size() > 7)
            fail("pickle.format", fn->text + " with " + std::to_string(a.size()) + " arguments");
        if (!a[0]->is(K::storage))
            fail("pickle.format", fn->text + ": first argument is a " + std::string(kind_name(a[0]->type)) +
                                      ", expected a storage");
        auto* t = out.make(K::tensor);
        t->items = {a[0]};
        t->element = a[0]->element;
        t->integer = as_int(a[1], "storage offset");
        if (t->integer < 0) fail("pickle.format", "negative storage offset");
        t->shape = int_tuple(a[2], "tensor size");
        t->stride = int_tuple(a[3], "tensor stride");
        if (t->shape.size() != t->stride.size()) fail("pickle.format", "tensor size and stride differ in length");
        return t;
    };

    while (true) {
        op_at = pos;
        if (pos >= bytes.size()) fail("pickle.format", "truncated: no STOP opcode");
        op = std::to_integer<std::uint8_t>(bytes[pos++]);
        switch (op) {
            case 0x80: {  // PROTO
                const auto v = uint_le(1);
                if (v < 2 || v > 5) fail("pickle.refused", "pickle protocol " + std::to_string(v) + " (supported: 2 to 5)");
                break;
            }
            case 0x95: uint_le(8); break;  // FRAME: a hint only
            case '.': {                    // STOP
                out.root_ = pop();
                out.size_ = pos;
                return out;
            }
            case '(': marks.push_back(stack.size()); break;  // MARK
            case '0': pop(); break;                           // POP
            case '1': pop_mark(); break;                      // POP_MARK
            case '2': push(top()); break;                     // DUP
            case 'N': push(out.make(K::none)); break;
            case 0x88: case 0x89: {  // NEWTRUE NEWFALSE
                auto* n = out.make(K::boolean);
                n->integer = op == 0x88;
                push(n);
                break;
            }
            case 'J': case 'K': case 'M': {  // BININT BININT1 BININT2
                auto* n = out.make(K::integer);
                if (op == 'J') {
                    const auto u = static_cast<std::uint32_t>(uint_le(4));
                    std::int32_t s;
                    std::memcpy(&s, &u, 4);
                    n->integer = s;
                } else {
                    n->integer = static_cast<std::int64_t>(uint_le(op == 'K' ? 1 : 2));
                }
                push(n);
                break;
            }
            case 0x8a: case 0x8b: {  // LONG1 LONG4
                const auto n_bytes = uint_le(op == 0x8a ? 1 : 4);
                const auto s = text(n_bytes);
                std::int64_t v = 0;
                const auto span = std::as_bytes(std::span(s.data(), s.size()));
                pickle_node* n;
                if (detail::pickle::long_to_i64(span, v)) {
                    n = out.make(K::integer);
                    n->integer = v;
                } else {
                    n = out.make(K::big_integer);
                    n->text = s;
                }
                push(n);
                break;
            }
            case 'G': {  // BINFLOAT, big-endian
                const auto s = need(8);
                std::uint64_t u = 0;
                for (std::size_t k = 0; k < 8; ++k) u = (u << 8) | std::to_integer<unsigned>(s[k]);
                auto* n = out.make(K::floating);
                std::memcpy(&n->floating, &u, 8);
                push(n);
                break;
            }
            case 0x8c: case 'X': case 0x8d: case 'U': case 'T':
            case 'C': case 'B': case 0x8e: {
                // SHORT_BINUNICODE BINUNICODE BINUNICODE8 SHORT_BINSTRING BINSTRING SHORT_BINBYTES BINBYTES BINBYTES8
                const std::size_t width = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
                const bool is_bytes = op == 'C' || op == 'B' || op == 0x8e;
                auto* n = out.make(is_bytes ? K::bytes : K::string);
                n->text = text(uint_le(width));
                push(n);
                break;
            }
            case ')': push(out.make(K::tuple)); break;  // EMPTY_TUPLE
            case 't': {                                 // TUPLE
                auto* n = out.make(K::tuple);
                n->items = pop_mark();
                push(n);
                break;
            }
            case 0x85: case 0x86: case 0x87: {  // TUPLE1 TUPLE2 TUPLE3
                auto* n = out.make(K::tuple);
                n->items.resize(op - 0x84u);
                for (auto it = n->items.rbegin(); it != n->items.rend(); ++it) *it = pop();
                push(n);
                break;
            }
            case ']': push(out.make(K::list)); break;  // EMPTY_LIST
            case 'l': {                                // LIST
                auto* n = out.make(K::list);
                n->items = pop_mark();
                push(n);
                break;
            }
            case 'a': {  // APPEND
                auto* v = pop();
                auto* l = top();
                if (!l->is(K::list)) fail("pickle.format", "APPEND to a " + std::string(kind_name(l->type)));
                l->items.push_back(v);
                break;
            }
            case 'e': {  // APPENDS
                auto items = pop_mark();
                auto* l = top();
                if (!l->is(K::list)) fail("pickle.format", "APPENDS to a " + std::string(kind_name(l->type)));
                l->items.insert(l->items.end(), items.begin(), items.end());
                break;
            }
            case '}': push(out.make(K::dict)); break;  // EMPTY_DICT
            case 'd': {                                // DICT
                auto* n = out.make(K::dict);
                set_items(n, pop_mark());
                push(n);
                break;
            }
            case 's': {  // SETITEM
                auto* v = pop();
                auto* k = pop();
                set_items(top(), {k, v});
                break;
            }
            case 'u': {  // SETITEMS
                auto kv = pop_mark();
                set_items(top(), kv);
                break;
            }
            case 'q': case 'r': {  // BINPUT LONG_BINPUT
                const auto key = uint_le(op == 'q' ? 1 : 4);
                memo[key] = top();
                break;
            }
            case 0x94: memo[memo.size()] = top(); break;  // MEMOIZE
            case 'h': case 'j': {                        // BINGET LONG_BINGET
                const auto key = uint_le(op == 'h' ? 1 : 4);
                const auto it = memo.find(key);
                if (it == memo.end()) fail("pickle.format", "memo entry " + std::to_string(key) + " was never stored");
                push(it->second);
                break;
            }
            case 'c': {  // GLOBAL "module\nname\n"
                const auto module = line();
                const auto name = line();
                push(make_global(module, name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                auto* name = pop();
                auto* module = pop();
                if (!name->is(K::string) || !module->is(K::string))
                    fail("pickle.format", "STACK_GLOBAL operands are not strings");
                push(make_global(module->text, name->text));
                break;
            }
            case 'R': {  // REDUCE
                auto* args = pop();
                auto* fn = pop();
                push(call(fn, args));
                break;
            }
            case 'b': {  // BUILD: state set on an object; only an OrderedDict's own attributes (_metadata) are accepted
                auto* state = pop();
                auto* obj = top();
                if (!obj->is(K::dict) && !obj->is(K::tensor))
                    fail("pickle.refused", "BUILD on a " + std::string(kind_name(obj->type)) + " (only dicts and tensors)");
                (void)state;  // attributes such as _metadata carry nothing the exporter needs
                break;
            }
            case 'Q': {  // BINPERSID: ('storage', <Type>Storage, key, location, numel[, view_metadata])
                auto* pid = pop();
                const auto& it = pid->items;
                if (!pid->is(K::tuple) || it.size() < 5 || it.size() > 6 || !it[0]->is(K::string) ||
                    it[0]->text != "storage")
                    fail("pickle.format", "persistent id is not ('storage', type, key, location, size)");
                if (!it[1]->is(K::global) || !find_storage_type(it[1]->text))
                    fail("pickle.format", "persistent id names no storage type");
                if (!it[2]->is(K::string) || !it[3]->is(K::string))
                    fail("pickle.format", "persistent id key or location is not a string");
                if (it.size() == 6 && !it[5]->is(K::none))
                    fail("pickle.refused", "storage views (legacy view_metadata) are not supported");
                auto* s = out.make(K::storage);
                s->element = it[1]->element;
                s->text = it[2]->text;
                s->location = it[3]->text;
                s->integer = as_int(it[4], "storage size");
                if (s->integer < 0) fail("pickle.format", "negative storage size");
                push(s);
                break;
            }
            case 'i': case 'o': case 0x81: case 0x92: case 0x82: case 0x83: case 0x84: case 'P': {
                static constexpr std::pair<std::uint8_t, std::string_view> names[] = {
                    {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {0x82, "EXT1"},
                    {0x83, "EXT2"}, {0x84, "EXT4"}, {'P', "PERSID"}};
                std::string_view name;
                for (const auto& [c, nm] : names)
                    if (c == op) name = nm;
                fail("pickle.refused", "refusing opcode " + std::string(name) +
                                           ": it builds arbitrary objects, which a state dict does not need "
                                           "(nothing was executed)");
                break;
            }
            default:
                fail("pickle.refused", "opcode " + op_name() + " is not one a PyTorch state dict uses");
        }
    }
}
#endif

}  // namespace typeformer::inline v0
