// typeformer/core/error.hpp: the one exception type the library throws.
//
// Every error carries a stable identifier ("safetensors.header",
// "config.type_error", "checkpoint.mismatch", ...) and a human sentence that
// names what is wrong and where (a file, a tensor, a JSON path). what() reads
// "[id] message", in the style of nlohmann/json.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace typeformer::inline v0 {

class error : public std::runtime_error {
public:
    error(std::string_view id, std::string_view message) : std::runtime_error(format(id, message)), id_(id) {}

    /// The stable identifier, e.g. "safetensors.header".
    [[nodiscard]] const std::string& id() const noexcept { return id_; }

private:
    static std::string format(std::string_view id, std::string_view message) {
        std::string s;
        s.reserve(id.size() + message.size() + 3);
        s.append("[").append(id).append("] ").append(message);
        return s;
    }

    std::string id_;
};

}  // namespace typeformer::inline v0
