// typeformer/io/config_json.hpp: reading config.json into a typed config.
//
// Absent fields keep the config's defaults (Transformers' defaults); a field
// of the wrong type is an error naming the file and the JSON path:
//   [config.type_error] out/config.json: /num_attention_heads: expected an integer, got "12"
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "typeformer/core/config.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"

namespace typeformer::inline v0 {

class config_reader {
public:
    /// The keys a reader was asked about (see record_keys).
    using key_log = std::set<std::string>;

    config_reader(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {}

    /// Record every key this reader, and every child reader made from it
    /// afterwards, is asked about (has, is_null, get, get_num_labels, child,
    /// require_false, require_value, get_list, raw), present or not, into
    /// `log`; a child's keys as "parent.key" ("rope_scaling.type"). nullptr
    /// stops recording. The tests use it to compare the keys a loader reads
    /// with the keys Transformers reads.
    void record_keys(std::shared_ptr<key_log> log);
    [[nodiscard]] const std::shared_ptr<key_log>& recorded_keys() const { return log_; }

    /// Read as the given Transformers release's model code reads the keys
    /// whose meaning changed (default: 5.x); child readers inherit it.
    config_reader& follow(follow_transformers f) {
        follow_ = f;
        return *this;
    }
    [[nodiscard]] follow_transformers follows() const { return follow_; }

    /// Transformers' forward argument `interpolate_pos_encoding` (the
    /// export's `--interpolate-pos-encoding`): the learned positions resized
    /// to the patch grid of each image, which then may be of any size. A
    /// loader that honours it (or refuses it by name) asks
    /// interpolate_pos_encoding(); the exporter refuses the option for a
    /// model whose loader never asked (interpolate_pos_encoding_unasked).
    /// Child readers inherit it.
    config_reader& interpolate_pos_encoding(bool on) {
        interpolate_ = on;
        interpolate_asked_ = std::make_shared<bool>(false);
        return *this;
    }
    [[nodiscard]] bool interpolate_pos_encoding() const {
        if (interpolate_asked_) *interpolate_asked_ = true;
        return interpolate_;
    }
    /// The option is on and no loader asked about it.
    [[nodiscard]] bool interpolate_pos_encoding_unasked() const {
        return interpolate_ && !(interpolate_asked_ && *interpolate_asked_);
    }

    /// Read config.json; errors name the file.
    static nlohmann::json load(const std::filesystem::path& file);

    [[nodiscard]] bool has(const char* key) const;
    /// The key is there and holds null (Transformers' None, as opposed to the class default).
    [[nodiscard]] bool is_null(const char* key) const;

    void get(const char* key, std::int64_t& out) const;
    void get(const char* key, double& out) const;
    void get(const char* key, bool& out) const;
    void get(const char* key, std::string& out) const;
    void get(const char* key, activation& out) const;
    /// num_labels as Transformers derives it: len(id2label), else num_labels, else 2.
    void get_num_labels(std::int64_t& out) const;
    /// An integer or a list of integers (Longformer's attention_window), as a list.
    void get(const char* key, std::vector<std::int64_t>& out) const;
    /// A list of numbers (Phi-3's rope_scaling short_factor), as doubles.
    void get(const char* key, std::vector<double>& out) const;
    /// A nested object (rope_scaling) as a reader of its own, its errors
    /// naming the path (config.json: /rope_scaling/type). Null or absent:
    /// false, and `out` is left alone.
    [[nodiscard]] bool child(const char* key, std::optional<config_reader>& out) const;
    /// A boolean that must be false (a feature typeformer does not export).
    void require_false(const char* key, std::string_view why) const;

    /// A string field that must hold one value (e.g. position_embedding_type "absolute").
    void require_value(const char* key, std::string_view expected) const;

    /// A list of strings, given as a JSON array of strings or as one string
    /// of items joined by `sep` (DeBERTa's "c2p|p2c"); a string's items are
    /// trimmed and lower-cased, as Transformers does. null keeps `out`.
    void get_list(const char* key, std::vector<std::string>& out, char sep = '|') const;

    [[nodiscard]] const std::string& where() const { return where_; }

    /// The JSON value at `key` as it is, for nested values no getter above
    /// reads (GPT-Neo's attention_types, a list of [list of strings, count]);
    /// nullptr when absent or null. Errors about it should name where().
    [[nodiscard]] const nlohmann::json* raw(const char* key) const;
    /// The whole object this reader reads.
    [[nodiscard]] const nlohmann::json& object() const { return j_; }

private:
    /// The value of `key`, when present, into `out`; of the wrong JSON type
    /// (`is` false), config.type_error saying what was `expected`.
    template <class T>
    void get_as(const char* key, T& out, bool (nlohmann::json::*is)() const noexcept, const char* expected) const {
        if (!has(key)) return;
        const auto& v = j_[key];
        if (!(v.*is)()) type_error(key, expected);
        out = v.get<T>();
    }
    [[noreturn]] void type_error(const char* key, const char* expected) const;

    void note(const char* key) const;

    const nlohmann::json& j_;
    std::string where_;
    std::shared_ptr<key_log> log_;  ///< record_keys
    std::string prefix_;            ///< "rope_scaling." in a child reader
    follow_transformers follow_ = follow_transformers::v5;
    bool interpolate_ = false;                ///< interpolate_pos_encoding
    std::shared_ptr<bool> interpolate_asked_;  ///< a loader asked (shared with copies and children)
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto config_reader::record_keys(std::shared_ptr<key_log> log) -> void { log_ = std::move(log); }

TYPEFORMER_INLINE auto config_reader::load(const std::filesystem::path& file) -> nlohmann::json {
    std::ifstream in(file);
    if (!in) throw error("config.missing", file.string() + ": cannot open config.json");
    try {
        auto j = nlohmann::json::parse(in);
        if (!j.is_object()) throw error("config.parse_error", file.string() + ": not a JSON object");
        return j;
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for numbers that overflow
        throw error("config.parse_error", file.string() + ": not valid JSON: " + e.what());
    }
}

TYPEFORMER_INLINE auto config_reader::has(const char* key) const -> bool {
    note(key);
    return j_.contains(key) && !j_[key].is_null();
}

TYPEFORMER_INLINE auto config_reader::is_null(const char* key) const -> bool {
    note(key);
    return j_.contains(key) && j_[key].is_null();
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, std::int64_t& out) const -> void {
    get_as(key, out, &nlohmann::json::is_number_integer, "an integer");
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, double& out) const -> void {
    get_as(key, out, &nlohmann::json::is_number, "a number");
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, bool& out) const -> void {
    get_as(key, out, &nlohmann::json::is_boolean, "true or false");
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, std::string& out) const -> void {
    get_as(key, out, &nlohmann::json::is_string, "a string");
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, activation& out) const -> void {
    std::string s(name_of(out));
    get(key, s);
    auto a = activation_from_name(s);
    if (!a) throw error("config.unsupported", where_ + ": /" + key + ": activation \"" + s + "\" is not supported");
    out = *a;
}

TYPEFORMER_INLINE auto config_reader::get_num_labels(std::int64_t& out) const -> void {
    if (has("id2label")) {
        if (!j_["id2label"].is_object()) type_error("id2label", "an object");
        out = static_cast<std::int64_t>(j_["id2label"].size());
        note("num_labels");  // Transformers' num_labels is this: len(id2label)
        return;
    }
    get("num_labels", out);
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, std::vector<std::int64_t>& out) const -> void {
    if (!has(key)) return;
    const auto& v = j_[key];
    if (v.is_number_integer()) {
        out.assign(1, v.get<std::int64_t>());
        return;
    }
    if (!v.is_array()) type_error(key, "an integer or a list of integers");
    out.clear();
    for (const auto& item : v) {
        if (!item.is_number_integer()) type_error(key, "an integer or a list of integers");
        out.push_back(item.get<std::int64_t>());
    }
}

TYPEFORMER_INLINE auto config_reader::get(const char* key, std::vector<double>& out) const -> void {
    if (!has(key)) return;
    const auto& v = j_[key];
    if (!v.is_array()) type_error(key, "a list of numbers");
    out.clear();
    for (const auto& item : v) {
        if (!item.is_number()) type_error(key, "a list of numbers");
        out.push_back(item.get<double>());
    }
}

TYPEFORMER_INLINE auto config_reader::child(const char* key, std::optional<config_reader>& out) const -> bool {
    if (!has(key)) return false;
    if (!j_[key].is_object()) type_error(key, "an object");
    out.emplace(j_[key], where_ + ": /" + std::string(key));
    out->log_ = log_;
    out->prefix_ = prefix_ + key + ".";
    out->follow_ = follow_;
    out->interpolate_ = interpolate_;
    out->interpolate_asked_ = interpolate_asked_;
    return true;
}

TYPEFORMER_INLINE auto config_reader::require_false(const char* key, std::string_view why) const -> void {
    bool v = false;
    get(key, v);
    if (v)
        throw error("config.unsupported", where_ + ": /" + key + ": true is not supported (" + std::string(why) + ")");
}

TYPEFORMER_INLINE auto config_reader::require_value(const char* key, std::string_view expected) const -> void {
    std::string s(expected);
    get(key, s);
    if (s != expected)
        throw error("config.unsupported", where_ + ": /" + key + ": \"" + s + "\" is not supported (only \"" +
                                              std::string(expected) + "\")");
}

TYPEFORMER_INLINE auto config_reader::get_list(const char* key, std::vector<std::string>& out, char sep) const -> void {
    if (!has(key)) return;
    const auto& v = j_[key];
    out.clear();
    if (v.is_array()) {
        for (const auto& item : v) {
            if (!item.is_string()) type_error(key, "a list of strings");
            out.push_back(item.get<std::string>());
        }
        return;
    }
    if (!v.is_string()) type_error(key, "a string or a list of strings");
    const auto text = v.get<std::string>();
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(sep, start), text.size());
        std::string item = text.substr(start, end - start);
        const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
        item = first == std::string::npos ? std::string() : item.substr(first, last - first + 1);
        for (auto& ch : item) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        out.push_back(std::move(item));
        start = end + 1;
    }
}

TYPEFORMER_INLINE auto config_reader::raw(const char* key) const -> const nlohmann::json* { return has(key) ? &j_[key] : nullptr; }

TYPEFORMER_INLINE auto config_reader::type_error(const char* key, const char* expected) const -> void {
    throw error("config.type_error", where_ + ": /" + key + ": expected " + expected + ", got " + j_[key].dump());
}

TYPEFORMER_INLINE auto config_reader::note(const char* key) const -> void {
    if (log_) log_->insert(prefix_ + key);
}
#endif  // TYPEFORMER_DEFINITIONS

/// Run a config's constexpr check at load time; the error names the file.
template <class Config>
void check_loaded(const Config& c, const std::string& where) {
    try {
        check(c);
    } catch (const error& e) {
        throw error("config.invalid", where + ": " + std::string(e.what()).substr(e.id().size() + 3));
    }
}

}  // namespace typeformer::inline v0
