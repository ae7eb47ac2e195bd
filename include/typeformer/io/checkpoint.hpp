// typeformer/io/checkpoint.hpp: the weights of a Hugging Face checkpoint,
// looked up by state-dict name, plus the check of a model's parameter list
// against them.
//
// Layouts (docs/checkpoints.md), in the order Transformers prefers them when
// a folder holds several:
//
//   model.safetensors                     one safetensors file
//   model.safetensors.index.json          sharded safetensors: {"weight_map": {tensor: shard file}}
//   pytorch_model.bin                     torch.save (zip or legacy), read by the restricted pickle reader
//   pytorch_model.bin.index.json          sharded .bin, the same index format
//
// Every tensor is a view into a memory-mapped file, in its stored dtype (F32,
// F16, BF16, ...): consumers convert while they read (read_range_as_f32).
//
// Models always ask for full names ("bert.encoder.layer.0.output.dense.weight").
// A checkpoint saved from the bare base model stores them without the base
// prefix ("encoder.layer.0..."); as in Transformers, such a checkpoint is
// read with the prefix added.
//
// A composite checkpoint (a multimodal ...ForConditionalGeneration) holds one
// model among others: `select_renamed` reads the tensors under some prefixes
// as the model's ("model.language_model.layers.0..." as "model.layers.0...")
// and sets the others aside (a vision tower).
//
// Tied weights (an LM head sharing the word embeddings) may be stored once
// under either name, or both: `tie(a, b)` makes a lookup of either fall back
// to the other.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/io/pytorch.hpp"
#include "typeformer/io/safetensors.hpp"

namespace typeformer::inline v0 {

/// Tensors made while loading, from tensors a checkpoint stores in another
/// form (GPT-OSS's MXFP4 experts, block-scaled FP8 Linear weights,
/// dequantized to float32): named as the files would name them, in float32.
/// checkpoint::add keeps them alive.
struct made_tensors {
    std::string source;  ///< what they were made from, for messages
    /// The made tensors take the place of stored tensors of the same names
    /// (an FP8 `weight` read as its dequantized float32); otherwise a name
    /// stored twice is checkpoint.duplicate.
    bool replaces_stored = false;
    std::vector<std::string> names;
    std::vector<std::vector<std::int64_t>> shapes;
    std::vector<std::vector<float>> data;
    std::vector<tensor_view> views;  ///< filled by checkpoint::add
};

class checkpoint {
public:
    checkpoint() = default;

    /// A folder holding one of the layouts above, or one weights file
    /// (.safetensors, .bin/.pt/.pth, or an .index.json).
    static checkpoint open(const std::filesystem::path& where);

    /// Add one more file's tensors (tests, shards).
    void add(safetensors_file f);
    void add(pytorch_file f);
    /// Add tensors made from stored ones (made_tensors), looked up as the files' own.
    void add(std::shared_ptr<made_tensors> made);

    /// Set the architecture's base-model prefix ("bert", "distilbert").
    void set_base_prefix(std::string prefix);

    /// Read only the tensors whose names start with one of the `from`
    /// prefixes, each as `to` + the rest of its name (the first matching
    /// pair wins); every other tensor is set aside. A rename that gives two
    /// tensors one name is checkpoint.duplicate.
    void select_renamed(std::vector<std::pair<std::string, std::string>> renames);

    /// The tensors select_renamed set aside, under their stored names.
    [[nodiscard]] const std::vector<std::string>& set_aside() const noexcept { return set_aside_; }

    /// Declare two full names as one tied tensor: a lookup of either that the
    /// checkpoint lacks falls back to the other.
    void tie(std::string a, std::string b);

    /// The names tied to `name` (see tie).
    [[nodiscard]] std::vector<std::string_view> tied(std::string_view name) const;

    /// The tensor for a full state-dict name, or nullptr.
    [[nodiscard]] const tensor_view* find(std::string_view full_name) const;

    /// Every tensor, under its full name (prefix added where the file lacks it).
    [[nodiscard]] const std::map<std::string, const tensor_view*, std::less<>>& tensors() const;

    /// "safetensors", "sharded safetensors (3 files)", "pytorch zip", ...: for logs.
    [[nodiscard]] const std::string& layout() const noexcept { return layout_; }

    /// The floating dtypes stored, e.g. "F16" or "F32, BF16": for logs.
    [[nodiscard]] std::string stored_dtypes() const;

private:
    struct part {
        std::filesystem::path path;
        const std::vector<tensor_view>* tensors;
        std::shared_ptr<const void> owner;
        bool replaces = false;  ///< made tensors that take the place of stored ones
    };

    [[noreturn]] static void fail_index(const std::filesystem::path& index, const std::string& msg);

    /// Open one weights file; returns its layout's name.
    std::string open_one(const std::filesystem::path& file);

    void open_file(const std::filesystem::path& file);

    void reindex();

    std::vector<part> parts_;
    std::string base_prefix_;
    std::vector<std::pair<std::string, std::string>> renames_;
    std::vector<std::string> set_aside_;
    std::string layout_;
    std::map<std::string, const tensor_view*, std::less<>> by_name_;
    std::multimap<std::string, std::string, std::less<>> ties_;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto checkpoint::open(const std::filesystem::path& where) -> checkpoint {
    namespace fs = std::filesystem;
    checkpoint c;
    if (fs::is_directory(where)) {
        bool found = false;
        for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                 "pytorch_model.bin.index.json"})
            if (fs::exists(where / name)) {
                c.open_file(where / name);
                found = true;
                break;
            }
        if (!found)
            throw error("checkpoint.missing",
                        where.string() + ": no weights in this folder (looked for model.safetensors, "
                                         "model.safetensors.index.json, pytorch_model.bin, "
                                         "pytorch_model.bin.index.json)");
    } else {
        if (!fs::exists(where)) throw error("checkpoint.missing", where.string() + ": no such file or folder");
        c.open_file(where);
    }
    c.reindex();
    return c;
}

TYPEFORMER_INLINE auto checkpoint::add(safetensors_file f) -> void {
    auto p = std::make_shared<safetensors_file>(std::move(f));
    parts_.push_back({p->path(), &p->tensors(), p});
    reindex();
}

TYPEFORMER_INLINE auto checkpoint::add(pytorch_file f) -> void {
    auto p = std::make_shared<pytorch_file>(std::move(f));
    parts_.push_back({p->path(), &p->tensors(), p});
    reindex();
}

TYPEFORMER_INLINE auto checkpoint::add(std::shared_ptr<made_tensors> made) -> void {
    if (made->names.size() != made->shapes.size() || made->names.size() != made->data.size())
        throw error("checkpoint.mismatch", made->source + ": made tensors without a name, shape or data each");
    made->views.clear();
    for (std::size_t i = 0; i < made->names.size(); ++i) {
        tensor_view t;
        t.name = made->names[i];
        t.type = dtype::f32;
        t.shape = made->shapes[i];
        if (t.numel() != static_cast<std::int64_t>(made->data[i].size()))
            throw error("checkpoint.mismatch", made->source + ": " + made->names[i] + " has the wrong number of values");
        t.bytes = std::as_bytes(std::span<const float>(made->data[i]));
        t.mapped = false;
        made->views.push_back(std::move(t));
    }
    parts_.push_back({made->source, &made->views, made, made->replaces_stored});
    reindex();
}

TYPEFORMER_INLINE auto checkpoint::set_base_prefix(std::string prefix) -> void {
    base_prefix_ = std::move(prefix);
    reindex();
}

TYPEFORMER_INLINE auto checkpoint::select_renamed(std::vector<std::pair<std::string, std::string>> renames) -> void {
    renames_ = std::move(renames);
    reindex();
}

TYPEFORMER_INLINE auto checkpoint::tie(std::string a, std::string b) -> void {
    if (a == b) return;
    ties_.emplace(a, b);
    ties_.emplace(std::move(b), std::move(a));
}

TYPEFORMER_INLINE auto checkpoint::tied(std::string_view name) const -> std::vector<std::string_view> {
    std::vector<std::string_view> out;
    for (auto [it, end] = ties_.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
}

TYPEFORMER_INLINE auto checkpoint::find(std::string_view full_name) const -> const tensor_view* {
    auto it = by_name_.find(full_name);
    return it == by_name_.end() ? nullptr : it->second;
}

TYPEFORMER_INLINE auto checkpoint::tensors() const -> const std::map<std::string, const tensor_view*, std::less<>>& {
    return by_name_;
}

TYPEFORMER_INLINE auto checkpoint::stored_dtypes() const -> std::string {
    std::set<std::string_view> names;
    for (const auto& [n, t] : by_name_)
        if (t->type == dtype::f32 || t->type == dtype::f16 || t->type == dtype::bf16 || t->type == dtype::f64 ||
            t->type == dtype::f8_e4m3 || t->type == dtype::f8_e5m2)
            names.insert(safetensors_name(t->type));
    std::string s;
    for (auto n : names) s += (s.empty() ? "" : ", ") + std::string(n);
    return s;
}

TYPEFORMER_INLINE auto checkpoint::fail_index(const std::filesystem::path& index, const std::string& msg) -> void {
    throw error("checkpoint.index", index.string() + ": " + msg);
}

TYPEFORMER_INLINE auto checkpoint::open_one(const std::filesystem::path& file) -> std::string {
    const auto name = file.filename().string();
    if (name.ends_with(".bin") || name.ends_with(".pt") || name.ends_with(".pth")) {
        auto f = pytorch_file::open(file);
        std::string layout = "pytorch " + std::string(f.layout());
        add(std::move(f));
        return layout;
    }
    add(safetensors_file::open(file));
    return "safetensors";
}

TYPEFORMER_INLINE auto checkpoint::open_file(const std::filesystem::path& file) -> void {
    const auto name = file.filename().string();
    if (!name.ends_with(".index.json")) {
        layout_ = open_one(file);
        return;
    }
    // -- a sharded checkpoint: {"metadata": {...}, "weight_map": {tensor: file}}
    nlohmann::json index;
    {
        std::ifstream in(file, std::ios::binary);
        if (!in) fail_index(file, "cannot open");
        try {
            index = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            fail_index(file, std::string("not valid JSON: ") + e.what());
        }
    }
    if (!index.is_object()) fail_index(file, std::string("is a JSON ") + index.type_name() + ", expected an object");
    const auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) fail_index(file, "no \"weight_map\" object");
    std::map<std::string, std::vector<std::string>> by_shard;  // shard file -> tensors it should hold
    for (const auto& [tensor, shard] : wm->items()) {
        if (!shard.is_string()) fail_index(file, "/weight_map/" + tensor + ": expected a file name");
        const auto& f = shard.get_ref<const std::string&>();
        if (f.empty() || f == "." || f == ".." || f.find('/') != std::string::npos ||
            f.find('\\') != std::string::npos)
            fail_index(file, "/weight_map/" + tensor + ": \"" + f + "\" is not a file name in this folder");
        by_shard[f].push_back(tensor);
    }
    if (by_shard.empty()) fail_index(file, "\"weight_map\" is empty");
    const auto dir = file.parent_path();
    std::string shard_layout;
    for (const auto& [shard, names] : by_shard) {
        if (!std::filesystem::exists(dir / shard))
            fail_index(file, "shard " + shard + " (holding " + names.front() + ", ...) is missing");
        shard_layout = open_one(dir / shard);
        const auto& tensors = *parts_.back().tensors;
        std::set<std::string_view> held;
        for (const auto& t : tensors) held.insert(t.name);
        for (const auto& n : names)
            if (!held.contains(n)) fail_index(file, "tensor " + n + " is listed in shard " + shard + ", which lacks it");
    }
    layout_ = "sharded " + shard_layout + " (" +
              std::to_string(by_shard.size()) + " files)";
}

TYPEFORMER_INLINE auto checkpoint::reindex() -> void {
    by_name_.clear();
    set_aside_.clear();
    // each tensor under the name the model reads it by (select_renamed), or none
    std::vector<std::pair<std::string, const tensor_view*>> named;
    std::map<const tensor_view*, const part*> file_of;
    for (const auto& p : parts_)
        for (const auto& t : *p.tensors) {
            file_of[&t] = &p;
            if (renames_.empty()) {
                named.emplace_back(std::string(t.name), &t);
                continue;
            }
            const auto r = std::find_if(renames_.begin(), renames_.end(),
                                        [&](const auto& ft) { return t.name.starts_with(ft.first); });
            if (r == renames_.end()) set_aside_.emplace_back(t.name);
            else named.emplace_back(r->second + std::string(t.name.substr(r->first.size())), &t);
        }
    bool has_prefix = base_prefix_.empty();
    for (const auto& [name, t] : named)
        if (!base_prefix_.empty() && name.starts_with(base_prefix_ + ".")) has_prefix = true;
    for (auto& [name, t] : named) {
        if (!has_prefix) name = base_prefix_ + "." + name;
        if (const auto [it, fresh] = by_name_.emplace(name, t); !fresh) {
            const auto* a = it->second;
            if (file_of[t]->replaces != file_of[a]->replaces) {  // a made tensor in place of the stored one
                if (file_of[t]->replaces) it->second = t;
                continue;
            }
            const std::string how = a->name == t->name ? "" : " (as " + std::string(a->name) + " and " + std::string(t->name) + ")";
            throw error("checkpoint.duplicate", "tensor " + name + " is stored twice" + how + ": in " +
                                                    file_of[a]->path.string() + " and in " +
                                                    file_of[t]->path.string());
        }
    }
}
#endif  // TYPEFORMER_DEFINITIONS

/// Block-scaled FP8 (a quantization_config {"quant_method": "fp8"}, as
/// DeepSeek-V3's checkpoints are stored): a quantized Linear's `weight`
/// [out, in] in F8_E4M3 and its `weight_scale_inv` [⌈out / rows⌉,
/// ⌈in / cols⌉] (a float per block of rows × cols values; the last block
/// row or column partial where the weight is not a whole number of
/// blocks, as DeepSeek-V3's kv_a_proj_with_mqa [576, 7168] is). The float
/// weight is each value times its block's scale (float32), as
/// Transformers' FP8Linear computes it.
struct fp8_block_size {
    std::int64_t rows = 128, cols = 128;
};

/// Every weight the checkpoint stores with a `weight_scale_inv`,
/// dequantized to float32 (made tensors that replace the stored FP8 ones).
/// `block`: quantization_config's weight_block_size, or none where
/// config.json declares no FP8 quantization (then any scale is refused).
/// Refused by name: a scale without its weight, a weight not stored as
/// F8_E4M3, a scale grid other than [⌈out / rows⌉, ⌈in / cols⌉], a scale
/// stored as bytes (UE8M0).
[[nodiscard]] std::shared_ptr<made_tensors> dequantize_fp8_blocks(const checkpoint& ck,
                                                                  std::optional<fp8_block_size> block);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::shared_ptr<made_tensors> dequantize_fp8_blocks(const checkpoint& ck,
                                                                      std::optional<fp8_block_size> block) {
    constexpr std::string_view suffix = "_scale_inv";
    auto made = std::make_shared<made_tensors>();
    made->source = "block-scaled FP8 weights (dequantized)";
    made->replaces_stored = true;
    const auto dims = [](const std::vector<std::int64_t>& v) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
    };
    for (const auto& [full, scale] : ck.tensors()) {
        if (!full.ends_with(std::string(".weight") + std::string(suffix))) continue;
        const std::string weight_name = full.substr(0, full.size() - suffix.size());
        if (!block)
            throw error("checkpoint.mismatch", full + ": a block-scaled FP8 weight's scale, but config.json has no "
                                                      "quantization_config {\"quant_method\": \"fp8\"}");
        const auto* w = ck.find(weight_name);
        if (!w) throw error("checkpoint.missing", weight_name + " is missing (" + full + " scales it)");
        if (w->type != dtype::f8_e4m3)
            throw error("checkpoint.mismatch", weight_name + ": stored as " + std::string(safetensors_name(w->type)) +
                                                   " with a weight_scale_inv; block-scaled FP8 (fmt e4m3) stores "
                                                   "F8_E4M3");
        if (scale->type == dtype::u8)
            throw error("checkpoint.mismatch", full + ": UE8M0 scales (U8) are not supported (float scales only)");
        if (w->shape.size() != 2)
            throw error("checkpoint.mismatch", weight_name + ": " + dims(w->shape) +
                                                   ": block-scaled FP8 weights are read as 2-D Linear weights only");
        const std::int64_t out = w->shape[0], in = w->shape[1];
        // a partial last block row or column has a scale of its own (FP8Linear's ceil-divided grid)
        const std::vector<std::int64_t> grid{(out + block->rows - 1) / block->rows, (in + block->cols - 1) / block->cols};
        if (scale->shape != grid)
            throw error("checkpoint.mismatch", full + ": " + dims(scale->shape) + ", expected " + dims(grid) +
                                                   " (one scale per block of weight_block_size " +
                                                   std::to_string(block->rows) + " x " + std::to_string(block->cols) +
                                                   ", a partial block included)");
        std::vector<float> values(static_cast<std::size_t>(out * in)), scales(static_cast<std::size_t>(grid[0] * grid[1]));
        read_as_f32(*w, values);
        read_as_f32(*scale, scales);
        for (std::int64_t r = 0; r < out; ++r)
            for (std::int64_t c = 0; c < in; ++c)
                values[static_cast<std::size_t>(r * in + c)] *=
                    scales[static_cast<std::size_t>((r / block->rows) * grid[1] + c / block->cols)];
        made->names.emplace_back(w->name);
        made->shapes.push_back(w->shape);
        made->data.push_back(std::move(values));
    }
    return made;
}
#endif

/// One parameter a model asks for: its name, a tied alternative, its shape.
struct param_request {
    std::string name;
    std::string tied_to;  // empty: not tied
    std::vector<std::int64_t> shape;
};

/// Resolve a request: the tensor itself, else its tied alternative.
[[nodiscard]] const tensor_view* resolve(const checkpoint& ck, const param_request& r,
                                         std::string* used_name = nullptr);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE const tensor_view* resolve(const checkpoint& ck, const param_request& r, std::string* used_name) {
    if (const auto* t = ck.find(r.name)) {
        // stored under both names with the same bytes (torch.save of tied weights): one tensor, the tied one
        if (!r.tied_to.empty())
            if (const auto* u = ck.find(r.tied_to);
                u && u->bytes.data() == t->bytes.data() && u->bytes.size() == t->bytes.size() && u->type == t->type) {
                if (used_name) *used_name = r.tied_to;
                return u;
            }
        if (used_name) *used_name = r.name;
        return t;
    }
    if (!r.tied_to.empty())
        if (const auto* t = ck.find(r.tied_to)) {
            if (used_name) *used_name = r.tied_to;
            return t;
        }
    for (auto other : ck.tied(r.name))
        if (const auto* t = ck.find(other)) {
            if (used_name) *used_name = std::string(other);
            return t;
        }
    return nullptr;
}
#endif

/// What check_params found that is not an error.
struct param_report {
    std::vector<std::string> unused;  // checkpoint tensors outside the model's base prefix (another head's)
};

/// Check the model's parameter list against the checkpoint: every missing,
/// mis-shaped or mis-typed tensor, and every unexpected tensor under the base
/// prefix, is reported together in one error ("checkpoint.mismatch").
/// `ignored` lists name suffixes that a checkpoint may carry unused (buffers
/// such as `embeddings.position_ids`, a pooler the task does not use).
param_report check_params(const checkpoint& ck, const std::vector<param_request>& requests,
                          std::string_view base_prefix, const std::vector<std::string>& ignored,
                          std::string_view where);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE param_report check_params(const checkpoint& ck, const std::vector<param_request>& requests, std::string_view base_prefix, const std::vector<std::string>& ignored, std::string_view where) {
    std::vector<std::string> problems;
    std::set<std::string, std::less<>> used;
    for (const auto& r : requests) {
        std::string name;
        const tensor_view* t = resolve(ck, r, &name);
        if (!t) {
            problems.push_back("missing tensor " + r.name +
                               (r.tied_to.empty() ? "" : " (nor its tied " + r.tied_to + ")") + ", expected shape " +
                               shape_string(r.shape));
            continue;
        }
        used.insert(name);
        used.insert(r.name);
        // a tied partner stored as well (torch.save keeps both names) is the same tensor, not an unused one
        if (!r.tied_to.empty()) used.insert(r.tied_to);
        for (auto other : ck.tied(r.name)) used.insert(std::string(other));
        if (t->shape != r.shape)
            problems.push_back("tensor " + name + " has shape " + shape_string(t->shape) + ", expected " +
                               shape_string(r.shape));
        if (t->type != dtype::f32 && t->type != dtype::f16 && t->type != dtype::bf16)
            problems.push_back("tensor " + name + " has dtype " + std::string(safetensors_name(t->type)) +
                               ", expected a floating type (F32, F16, BF16)");
    }
    param_report report;
    const std::string prefix = base_prefix.empty() ? std::string() : std::string(base_prefix) + ".";
    for (const auto& [name, t] : ck.tensors()) {
        if (used.contains(name)) continue;
        const bool is_ignored = std::any_of(ignored.begin(), ignored.end(),
                                            [&n = name](const std::string& s) { return n.ends_with(s); });
        if (is_ignored) continue;
        if (!prefix.empty() && !name.starts_with(prefix))
            report.unused.push_back(name);
        else
            problems.push_back("unexpected tensor " + name + " " + shape_string(t->shape));
    }
    if (!problems.empty()) {
        std::string msg = std::string(where) + ": the checkpoint does not match the model (" +
                          std::to_string(problems.size()) + " problem" + (problems.size() > 1 ? "s" : "") + "):";
        for (const auto& p : problems) msg += "\n  - " + p;
        throw error("checkpoint.mismatch", msg);
    }
    return report;
}
#endif

}  // namespace typeformer::inline v0
