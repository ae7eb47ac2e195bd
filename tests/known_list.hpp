// tests/known_list.hpp: the tab-separated lists the tests keep beside their
// fixtures (known_gaps.txt, known_failures.txt): `#` comments, then lines of
// three fields, the last one free text.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

/// The lines of `file` as three fields each; a line with fewer is a test failure naming it.
inline std::vector<std::array<std::string, 3>> read_known_list(const std::filesystem::path& file) {
    std::vector<std::array<std::string, 3>> rows;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto a = line.find('\t'), b = line.find('\t', a + 1);
        EXPECT_TRUE(a != std::string::npos && b != std::string::npos) << file.filename().string() << ": " << line;
        if (a == std::string::npos || b == std::string::npos) continue;
        rows.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    }
    return rows;
}
