// typeformer/core/dtype.hpp: element types, their sizes and their names in
// safetensors and ONNX.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace typeformer::inline v0 {

/// f8_e4m3: float8 e4m3fn (safetensors F8_E4M3; no infinities, 0x7f/0xff NaN);
/// f8_e5m2: float8 e5m2 (F8_E5M2; IEEE-like, the upper byte of a half).
enum class dtype : std::uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean, f8_e4m3, f8_e5m2 };

[[nodiscard]] constexpr std::size_t size_of(dtype t) noexcept {
    switch (t) {
        case dtype::f64: case dtype::i64: return 8;
        case dtype::f32: case dtype::i32: return 4;
        case dtype::f16: case dtype::bf16: case dtype::i16: return 2;
        case dtype::i8: case dtype::u8: case dtype::boolean: case dtype::f8_e4m3: case dtype::f8_e5m2: return 1;
    }
    return 0;
}

/// The name safetensors uses in its header ("F32", "BF16", ...).
[[nodiscard]] constexpr std::string_view safetensors_name(dtype t) noexcept {
    switch (t) {
        case dtype::f32: return "F32";
        case dtype::f16: return "F16";
        case dtype::bf16: return "BF16";
        case dtype::f64: return "F64";
        case dtype::i64: return "I64";
        case dtype::i32: return "I32";
        case dtype::i16: return "I16";
        case dtype::i8: return "I8";
        case dtype::u8: return "U8";
        case dtype::boolean: return "BOOL";
        case dtype::f8_e4m3: return "F8_E4M3";
        case dtype::f8_e5m2: return "F8_E5M2";
    }
    return "?";
}

[[nodiscard]] constexpr std::optional<dtype> dtype_from_safetensors(std::string_view s) noexcept {
    for (auto t : {dtype::f32, dtype::f16, dtype::bf16, dtype::f64, dtype::i64, dtype::i32,
                   dtype::i16, dtype::i8, dtype::u8, dtype::boolean, dtype::f8_e4m3, dtype::f8_e5m2})
        if (safetensors_name(t) == s) return t;
    return std::nullopt;
}

/// onnx::TensorProto_DataType value (kept numeric so this header needs no onnx include).
[[nodiscard]] constexpr int onnx_type(dtype t) noexcept {
    switch (t) {
        case dtype::f32: return 1;
        case dtype::u8: return 2;
        case dtype::i8: return 3;
        case dtype::i16: return 5;
        case dtype::i32: return 6;
        case dtype::i64: return 7;
        case dtype::boolean: return 9;
        case dtype::f16: return 10;
        case dtype::f64: return 11;
        case dtype::bf16: return 16;
        case dtype::f8_e4m3: return 17;  // FLOAT8E4M3FN
        case dtype::f8_e5m2: return 19;  // FLOAT8E5M2
    }
    return 0;
}

/// IEEE half -> float (exact).
[[nodiscard]] inline float half_to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = (h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t man = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while ((man & 0x400u) == 0) { man <<= 1; --exp; }
            man &= 0x3ffu;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

/// float8 e4m3fn -> float (exact): sign, 4 exponent bits (bias 7), 3
/// mantissa bits; exponent 0 subnormal (m/8 · 2^-6); no infinities, the
/// all-ones code (0x7f, 0xff) NaN. Largest finite value 448.
[[nodiscard]] inline float f8_e4m3_to_float(std::uint8_t v) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(v & 0x80u) << 24;
    const std::uint32_t exp = (v >> 3) & 0xfu, man = v & 0x7u;
    std::uint32_t bits;
    if (exp == 0xfu && man == 0x7u) {
        bits = sign | 0x7fc00000u;  // NaN
    } else if (exp == 0) {
        const float m = static_cast<float>(man) * 0.001953125f;  // man / 8 · 2^-6, exact
        return sign ? -m : m;
    } else {
        bits = sign | ((exp + 127 - 7) << 23) | (man << 20);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

/// float8 e5m2 -> float (exact): the upper byte of an IEEE half.
[[nodiscard]] inline float f8_e5m2_to_float(std::uint8_t v) noexcept {
    return half_to_float(static_cast<std::uint16_t>(static_cast<std::uint16_t>(v) << 8));
}

/// float -> IEEE half, rounded to nearest even (overflow to infinity, NaN kept NaN).
[[nodiscard]] inline std::uint16_t float_to_half(float f) noexcept {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;     // NaN
    if (a >= 0x47800000u) return sign | 0x7c00u;    // >= 65536 (and inf): infinity
    if (a < 0x38800000u) {                           // below 2^-14: a half subnormal or zero
        if (a < 0x33000000u) return sign;            // below 2^-25: rounds to zero
        const std::uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126 - (a >> 23);
        std::uint32_t r = m >> shift;
        const std::uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) ++r;
        return static_cast<std::uint16_t>(sign | r);
    }
    std::uint32_t h = (a >> 13) - ((127u - 15u) << 10);
    const std::uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry may reach infinity: correct
    return static_cast<std::uint16_t>(sign | h);
}

/// float -> bfloat16, rounded to nearest even (as torch's .to(torch.bfloat16); NaN kept NaN).
[[nodiscard]] inline std::uint16_t float_to_bf16(float f) noexcept {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // NaN, quiet
    x += 0x7fffu + ((x >> 16) & 1u);  // a carry may reach infinity: correct
    return static_cast<std::uint16_t>(x >> 16);
}

/// bfloat16 -> float (exact).
[[nodiscard]] inline float bf16_to_float(std::uint16_t b) noexcept {
    const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

}  // namespace typeformer::inline v0
