// typeformer/export/progress.hpp: one progress line while the weights are written.
//
// Writing a large model's weights takes minutes. A progress_line shows how
// far it got on one line of a terminal, rewritten in place ('\r'):
//
//   typeformer: writing weights: 37/291 tensors, 1204.6/4943.1 MB (24%), 310.2 MB/s, 12 s left
//
// redrawn at most every `interval` (250 ms: four times a second), and ended
// by finish() with the totals, the mean rate and the time taken, then a
// newline. Whether a line is drawn at all is the caller's progress_mode:
// `automatic` draws it only on the standard error stream of a terminal, so
// that a log redirected to a file or a pipe stays the same lines it always
// was; `always` draws it on any stream (a test reads it from a file);
// `never` draws nothing.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "typeformer/core/linkage.hpp"

namespace typeformer::inline v0 {

/// When a progress line is drawn: `automatic` on a terminal's standard
/// error stream only, `always`, or `never`.
enum class progress_mode : std::uint8_t { automatic, always, never };

/// "auto", "always" or "never", as the command line spells it.
constexpr std::string_view to_string(progress_mode m) {
    return m == progress_mode::automatic ? "auto" : m == progress_mode::always ? "always" : "never";
}

/// Whether a progress line goes to `out` under `mode`: with `automatic`,
/// when `out` is std::cerr or std::clog and the standard error stream is a
/// terminal (isatty).
bool progress_enabled(progress_mode mode, const std::ostream& out);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool progress_enabled(progress_mode mode, const std::ostream& out) {
    if (mode != progress_mode::automatic) return mode == progress_mode::always;
    return (&out == &std::cerr || &out == &std::clog) && ::isatty(STDERR_FILENO) == 1;
}
#endif

/// A progress line over a known amount of work: `total_tensors` tensors of
/// `total_bytes` bytes in all. The writer calls add_bytes() as it writes and
/// end_tensor() after each tensor; the line is redrawn when `interval` has
/// passed since the last drawing. finish() draws the final line and ends
/// it with a newline; destroyed unfinished (an error on the way), it only
/// ends the line it drew, so that what follows starts on a line of its own.
class progress_line {
public:
    using clock = std::chrono::steady_clock;

    progress_line(std::ostream& out, std::string label, std::uint64_t total_tensors, std::uint64_t total_bytes,
                  clock::duration interval = std::chrono::milliseconds(250));
    progress_line(const progress_line&) = delete;
    progress_line& operator=(const progress_line&) = delete;
    ~progress_line();

    void add_bytes(std::uint64_t n);
    void end_tensor();
    /// The final line (totals, the mean rate, the time taken) and a newline; once.
    void finish();

    /// The text of the line after `elapsed` seconds, without '\r':
    /// "LABEL: T/N tensors, D/M MB (P%), R MB/s, S s left" (MB: 10^6 bytes);
    /// `done`: "..., R MB/s, done in S s".
    [[nodiscard]] std::string text(double elapsed, bool done) const;
    [[nodiscard]] std::uint64_t tensors() const { return tensors_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    void draw(std::string_view line, bool end);
    void maybe_draw();

    std::ostream& out_;
    std::string label_;
    std::uint64_t total_tensors_, total_bytes_;
    std::uint64_t tensors_ = 0, bytes_ = 0;
    clock::duration interval_;
    clock::time_point start_, last_;
    std::size_t drawn_ = 0;  // length of the line on screen (0: none, or ended)
    bool finished_ = false;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE progress_line::progress_line(std::ostream& out, std::string label, std::uint64_t total_tensors, std::uint64_t total_bytes, clock::duration interval)
    : out_(out), label_(std::move(label)), total_tensors_(total_tensors), total_bytes_(total_bytes), interval_(interval),
      start_(clock::now()), last_(start_) {}

TYPEFORMER_INLINE progress_line::~progress_line() {
    if (!finished_ && drawn_ > 0) {
        out_ << '\n';
        out_.flush();
    }
}

TYPEFORMER_INLINE void progress_line::add_bytes(std::uint64_t n) {
    bytes_ += n;
    maybe_draw();
}

TYPEFORMER_INLINE void progress_line::end_tensor() {
    ++tensors_;
    maybe_draw();
}

TYPEFORMER_INLINE void progress_line::maybe_draw() {
    if (finished_) return;
    const auto now = clock::now();
    if (now - last_ < interval_) return;
    last_ = now;
    draw(text(std::chrono::duration<double>(now - start_).count(), false), false);
}

TYPEFORMER_INLINE void progress_line::finish() {
    if (finished_) return;
    draw(text(std::chrono::duration<double>(clock::now() - start_).count(), true), true);
    finished_ = true;
}

TYPEFORMER_INLINE void progress_line::draw(std::string_view line, bool end) {
    // '\r', the line, and blanks over what a longer previous line left
    out_ << '\r' << line;
    if (line.size() < drawn_) out_ << std::string(drawn_ - line.size(), ' ');
    drawn_ = end ? 0 : line.size();
    if (end) out_ << '\n';
    out_.flush();
}

TYPEFORMER_INLINE std::string progress_line::text(double elapsed, bool done) const {
    const double mb = 1e6;
    const double rate = elapsed > 0 ? static_cast<double>(bytes_) / elapsed / mb : 0;
    const double percent =
        total_bytes_ ? 100.0 * static_cast<double>(bytes_) / static_cast<double>(total_bytes_) : (done ? 100 : 0);
    char buf[256];
    int n = std::snprintf(buf, sizeof buf, "%s: %llu/%llu tensors, %.1f/%.1f MB (%.0f%%), %.1f MB/s, ", label_.c_str(),
                          static_cast<unsigned long long>(tensors_), static_cast<unsigned long long>(total_tensors_),
                          static_cast<double>(bytes_) / mb, static_cast<double>(total_bytes_) / mb,
                          std::min(percent, 100.0), rate);
    std::string s(buf, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
    if (done) {
        std::snprintf(buf, sizeof buf, "done in %.1f s", elapsed);
    } else if (bytes_ == 0 || elapsed <= 0) {
        std::snprintf(buf, sizeof buf, "? s left");
    } else {
        const double left = static_cast<double>(total_bytes_ > bytes_ ? total_bytes_ - bytes_ : 0) /
                            (static_cast<double>(bytes_) / elapsed);
        std::snprintf(buf, sizeof buf, "%.0f s left", left);
    }
    return s + buf;
}
#endif

}  // namespace typeformer::inline v0
