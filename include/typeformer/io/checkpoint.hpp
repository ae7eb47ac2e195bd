// typeformer/io/checkpoint.hpp: the weights of a Hugging Face checkpoint,
// looked up by state-dict name, plus the check of a model's parameter list
// against them.
//
// Models always ask for full names ("bert.encoder.layer.0.output.dense.weight").
// A checkpoint saved from the bare base model stores them without the base
// prefix ("encoder.layer.0..."); as in Transformers, such a checkpoint is
// read with the prefix added.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/error.hpp"
#include "typeformer/io/safetensors.hpp"

namespace typeformer::inline v0 {

class checkpoint {
public:
    checkpoint() = default;

    /// A folder holding model.safetensors, or a .safetensors file.
    static checkpoint open(const std::filesystem::path& where) {
        namespace fs = std::filesystem;
        fs::path file = where;
        if (fs::is_directory(where)) {
            file = where / "model.safetensors";
            if (!fs::exists(file)) {
                if (fs::exists(where / "model.safetensors.index.json"))
                    throw error("checkpoint.layout",
                                where.string() +
                                    ": sharded safetensors checkpoints (model.safetensors.index.json) are "
                                    "not supported yet");
                if (fs::exists(where / "pytorch_model.bin"))
                    throw error("checkpoint.layout",
                                where.string() +
                                    ": holds pytorch_model.bin only; convert it to model.safetensors "
                                    "(reading PyTorch pickles is not supported yet)");
                throw error("checkpoint.missing", where.string() + ": no model.safetensors in this folder");
            }
        }
        checkpoint c;
        c.files_.push_back(std::make_unique<safetensors_file>(safetensors_file::open(file)));
        c.reindex();
        return c;
    }

    /// Add one more file's tensors (tests, shards).
    void add(safetensors_file f) {
        files_.push_back(std::make_unique<safetensors_file>(std::move(f)));
        reindex();
    }

    /// Set the architecture's base-model prefix ("bert", "distilbert").
    void set_base_prefix(std::string prefix) {
        base_prefix_ = std::move(prefix);
        reindex();
    }

    /// The tensor for a full state-dict name, or nullptr.
    [[nodiscard]] const tensor_view* find(std::string_view full_name) const {
        auto it = by_name_.find(full_name);
        return it == by_name_.end() ? nullptr : it->second;
    }

    /// Every tensor, under its full name (prefix added where the file lacks it).
    [[nodiscard]] const std::map<std::string, const tensor_view*, std::less<>>& tensors() const {
        return by_name_;
    }

private:
    void reindex() {
        by_name_.clear();
        bool has_prefix = base_prefix_.empty();
        for (const auto& f : files_)
            for (const auto& t : f->tensors())
                if (!base_prefix_.empty() && t.name.starts_with(base_prefix_ + ".")) has_prefix = true;
        for (const auto& f : files_)
            for (const auto& t : f->tensors()) {
                std::string name(t.name);
                if (!has_prefix) name = base_prefix_ + "." + name;
                by_name_.emplace(std::move(name), &t);
            }
    }

    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::string base_prefix_;
    std::map<std::string, const tensor_view*, std::less<>> by_name_;
};

/// One parameter a model asks for: its name, a tied alternative, its shape.
struct param_request {
    std::string name;
    std::string tied_to;  // empty: not tied
    std::vector<std::int64_t> shape;
};

/// Resolve a request: the tensor itself, else its tied alternative.
[[nodiscard]] inline const tensor_view* resolve(const checkpoint& ck, const param_request& r,
                                                std::string* used_name = nullptr) {
    if (const auto* t = ck.find(r.name)) {
        if (used_name) *used_name = r.name;
        return t;
    }
    if (!r.tied_to.empty())
        if (const auto* t = ck.find(r.tied_to)) {
            if (used_name) *used_name = r.tied_to;
            return t;
        }
    return nullptr;
}

/// What check_params found that is not an error.
struct param_report {
    std::vector<std::string> unused;  // checkpoint tensors outside the model's base prefix (another head's)
};

/// Check the model's parameter list against the checkpoint: every missing,
/// mis-shaped or mis-typed tensor, and every unexpected tensor under the base
/// prefix, is reported together in one error ("checkpoint.mismatch").
/// `ignored` lists name suffixes that a checkpoint may carry unused (buffers
/// such as `embeddings.position_ids`, a pooler the task does not use).
inline param_report check_params(const checkpoint& ck, const std::vector<param_request>& requests,
                                 std::string_view base_prefix, const std::vector<std::string>& ignored,
                                 std::string_view where) {
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
                                            [&](const std::string& s) { return name.ends_with(s); });
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

}  // namespace typeformer::inline v0
