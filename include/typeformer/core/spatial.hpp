// typeformer/core/spatial.hpp: the arguments of the image ops.
//
// Convolutions, pools and resizes take their window, stride, padding and
// interpolation as small named aggregates, so that a call reads as PyTorch's
// (`b.conv2d(x, w, &bias, {.h = 2, .w = 2}, {1, 1, 1, 1})`) and the two
// spatial axes cannot be swapped silently with the other integer arguments.
#pragma once

#include <cstdint>

namespace typeformer::inline v0 {

/// Two sizes over the spatial axes of [N, C, H, W], height then width: a
/// kernel, strides or dilations (torch's `kernel_size=(h, w)`).
struct hw {
    std::int64_t h = 1;
    std::int64_t w = 1;
    friend constexpr bool operator==(const hw&, const hw&) = default;
};

/// Zero padding of H and W, in ONNX's order (begins, then ends): torch's
/// symmetric `padding=(ph, pw)` is {ph, pw, ph, pw}.
struct pads2d {
    std::int64_t top = 0;
    std::int64_t left = 0;
    std::int64_t bottom = 0;
    std::int64_t right = 0;
    friend constexpr bool operator==(const pads2d&, const pads2d&) = default;
};

/// The modes of torch.nn.functional.interpolate that `resize` computes:
/// "nearest" (torch's legacy nearest, src = floor(dst · in / out)),
/// "bilinear" and "bicubic" (A = -0.75, borders replicated).
enum class resize_mode { nearest, bilinear, bicubic };

/// torch's ceil_mode as extra end padding: rounding the window count up
/// (pooling_output_shape_pad_lr), where a last window that would start
/// past the input and its begin padding is dropped, gives as many windows
/// as rounding down after `pad_end + ceil_mode_extra_pad(...)`. The windows
/// start where torch's do; the extra positions are never read (ONNX pads,
/// not counted by count_include_pad 0) and leave every pad < the window.
constexpr std::int64_t ceil_mode_extra_pad(std::int64_t kernel, std::int64_t stride, std::int64_t pad_end,
                                           std::int64_t dilation = 1) {
    const std::int64_t window = dilation * (kernel - 1) + 1;
    const std::int64_t e = stride - 1 < window - pad_end - 1 ? stride - 1 : window - pad_end - 1;
    return e > 0 ? e : 0;
}

/// The output size of a sliding window along one axis, as torch computes it:
/// (in + pads - dilation · (kernel - 1) - 1) / stride + 1, the division
/// rounding down, or up with ceil_mode (see ceil_mode_extra_pad). ONNX
/// Conv, MaxPool and AveragePool agree. -1 when no window fits.
constexpr std::int64_t window_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                          std::int64_t pad_begin, std::int64_t pad_end, std::int64_t dilation = 1,
                                          bool ceil_mode = false) {
    const std::int64_t extra = ceil_mode ? ceil_mode_extra_pad(kernel, stride, pad_end, dilation) : 0;
    const std::int64_t span = in + pad_begin + pad_end + extra - dilation * (kernel - 1) - 1;
    if (span < 0 || stride < 1) return -1;
    return span / stride + 1;
}

}  // namespace typeformer::inline v0
