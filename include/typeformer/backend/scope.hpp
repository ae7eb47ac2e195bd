// typeformer/backend/scope.hpp: the module path both backends keep.
//
// A layer enters its Hugging Face module path (`b.scope("bert.embeddings")`).
// The path names its parameters (`bert.embeddings.word_embeddings.weight`)
// and, in the ONNX backend, its nodes (`/bert/embeddings/word_embeddings/Gather`).
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace typeformer::inline v0 {

class module_path {
public:
    /// Push a dotted path; numeric parts stay with their parent ("layer.0").
    void push(std::string_view dotted) {
        std::size_t pushed = 0;
        while (!dotted.empty()) {
            const auto dot = dotted.find('.');
            std::string part(dotted.substr(0, dot));
            dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
            const bool numeric = !part.empty() && std::isdigit(static_cast<unsigned char>(part[0]));
            if (numeric && !parts_.empty() && pushed > 0) {
                parts_.back() += "." + part;
            } else {
                parts_.push_back(std::move(part));
                ++pushed;
            }
        }
        sizes_.push_back(pushed);
    }
    void pop() {
        parts_.resize(parts_.size() - sizes_.back());
        sizes_.pop_back();
    }

    /// "bert.encoder.layer.0" + "." + rel
    [[nodiscard]] std::string dotted(std::string_view rel = {}) const {
        std::string s;
        for (const auto& p : parts_) {
            if (!s.empty()) s += '.';
            s += p;
        }
        if (!rel.empty()) {
            if (!s.empty()) s += '.';
            s += rel;
        }
        return s;
    }
    /// "/bert/encoder/layer.0"
    [[nodiscard]] std::string slashed() const {
        std::string s;
        for (const auto& p : parts_) s += "/" + p;
        return s;
    }

private:
    std::vector<std::string> parts_;
    std::vector<std::size_t> sizes_;
};

/// RAII: leaves the scope it entered.
template <class Backend>
class [[nodiscard]] scope_guard {
public:
    scope_guard(Backend& b, std::string_view dotted) : b_(&b) { b_->path().push(dotted); }
    scope_guard(const scope_guard&) = delete;
    scope_guard& operator=(const scope_guard&) = delete;
    ~scope_guard() { b_->path().pop(); }

private:
    Backend* b_;
};

}  // namespace typeformer::inline v0
