// typeformer/io/hub.hpp: find a model in the local Hugging Face cache, offline.
//
// `--model org/name` names a Hub repository. Nothing is downloaded: the model
// must already be in the cache that huggingface_hub fills
// (`huggingface-cli download org/name`, or any from_pretrained):
//
//   <cache>/models--org--name/refs/<revision>       the commit hash a branch or tag points to
//   <cache>/models--org--name/snapshots/<commit>/   the files of that commit (symlinks to blobs/)
//
// The cache is, as in huggingface_hub: $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. The revision
// is a branch or tag with a ref file (default "main") or a commit hash with a
// snapshot folder.
//
// Errors: hub.not_cached (the repository or the revision is not in the cache;
// the message says where it looked and how to fill it), hub.invalid (not a
// repository id or a revision name), hub.incomplete (the snapshot lacks
// config.json).
#pragma once

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"

namespace typeformer::inline v0 {

/// The Hugging Face hub cache folder, from the environment (empty if no HOME either).
[[nodiscard]] std::filesystem::path hub_cache_dir();
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::filesystem::path hub_cache_dir() {
    const auto env = [](const char* name) -> const char* {
        const char* v = std::getenv(name);
        return v && *v ? v : nullptr;
    };
    if (const char* v = env("HF_HUB_CACHE")) return v;
    if (const char* v = env("HUGGINGFACE_HUB_CACHE")) return v;  // the older name
    if (const char* v = env("HF_HOME")) return std::filesystem::path(v) / "hub";
    if (const char* v = env("XDG_CACHE_HOME")) return std::filesystem::path(v) / "huggingface" / "hub";
    if (const char* v = env("HOME")) return std::filesystem::path(v) / ".cache" / "huggingface" / "hub";
    return {};
}
#endif

/// Whether `s` is a Hub repository id: "name" or "org/name", of letters,
/// digits, '-', '_' and '.', not starting or ending with '-' or '.', no "..".
[[nodiscard]] bool is_repo_id(std::string_view s);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool is_repo_id(std::string_view s) {
    if (s.empty() || s.size() > 96 || s.find("..") != std::string_view::npos) return false;
    const auto slash = s.find('/');
    if (slash != std::string_view::npos && s.find('/', slash + 1) != std::string_view::npos) return false;
    const auto part_ok = [](std::string_view p) {
        if (p.empty() || p.front() == '-' || p.front() == '.' || p.back() == '-' || p.back() == '.') return false;
        for (char c : p)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
        return true;
    };
    return slash == std::string_view::npos ? part_ok(s) : part_ok(s.substr(0, slash)) && part_ok(s.substr(slash + 1));
}
#endif

/// The snapshot folder of `repo` at `revision` in `cache` (see the top of this file).
[[nodiscard]] std::filesystem::path find_in_hub_cache(std::string_view repo, std::string_view revision,
                                                      const std::filesystem::path& cache);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::filesystem::path find_in_hub_cache(std::string_view repo, std::string_view revision, const std::filesystem::path& cache) {
    namespace fs = std::filesystem;
    if (!is_repo_id(repo))
        throw error("hub.invalid", "\"" + std::string(repo) + "\" is neither a folder nor a Hugging Face repository id "
                                   "(org/name)");
    if (revision.empty() || revision.find("..") != std::string_view::npos || revision.front() == '/')
        throw error("hub.invalid", "revision \"" + std::string(revision) + "\" is not a branch, tag or commit name");
    std::string folder = "models--";
    for (char c : repo) folder += c == '/' ? std::string("--") : std::string(1, c);
    const fs::path root = cache / folder;
    const std::string how =
        " The exporter works offline: download the model first (huggingface-cli download " + std::string(repo) +
        "), or set HF_HUB_CACHE / HF_HOME to the cache that holds it, or pass a folder.";
    if (cache.empty())
        throw error("hub.not_cached", std::string(repo) + ": no Hugging Face cache (HF_HUB_CACHE, HF_HOME and HOME are unset)." + how);
    if (!fs::is_directory(root))
        throw error("hub.not_cached", std::string(repo) + ": no such folder, and not in the Hugging Face cache (looked for " +
                                          root.string() + ")." + how);
    std::string commit(revision);
    if (std::ifstream ref(root / "refs" / std::string(revision)); ref) {
        std::getline(ref, commit);
        while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
        if (commit.empty() || commit.find('/') != std::string::npos || commit.find("..") != std::string::npos)
            throw error("hub.not_cached", (root / "refs" / std::string(revision)).string() + ": not a commit hash");
    }
    const fs::path snapshot = root / "snapshots" / commit;
    if (!fs::is_directory(snapshot)) {
        std::string have;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(root / "refs", ec))
            have += (have.empty() ? "" : ", ") + e.path().filename().string();
        throw error("hub.not_cached",
                    std::string(repo) + ": revision " + std::string(revision) + " is not in the cache (looked for " +
                        snapshot.string() + (have.empty() ? "" : "; cached refs: " + have) + ")." + how);
    }
    if (!fs::exists(snapshot / "config.json"))
        throw error("hub.incomplete", snapshot.string() + ": the cached snapshot has no config.json (an interrupted "
                                                          "or partial download?)");
    return snapshot;
}
#endif

/// `--model`: an existing folder as it is, else a repository id looked up
/// in the cache (hub_cache_dir()) at `revision`.
[[nodiscard]] std::filesystem::path resolve_model(const std::string& model, std::string_view revision = "main");
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::filesystem::path resolve_model(const std::string& model, std::string_view revision) {
    if (std::filesystem::is_directory(model)) return model;
    if (!is_repo_id(model) || model.starts_with("./") || model.starts_with("/"))
        throw error("checkpoint.missing", model + ": no such folder (and not a Hugging Face repository id)");
    return find_in_hub_cache(model, revision, hub_cache_dir());
}
#endif

}  // namespace typeformer::inline v0
