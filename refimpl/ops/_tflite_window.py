"""NHWC sliding windows for the `tflite::*` convolution and pooling ops.

TFLite's padding (lite/kernels/padding.h, ComputePaddingHeightWidth): SAME gives out =
ceil(in / stride) and pads total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the
smaller half (total // 2) before; VALID gives out = (in - ((k - 1) * dilation + 1)) // stride + 1
and no padding. The kernels skip out-of-image taps; a window here reads `fill` there instead, which
callers choose so that the tap contributes nothing (the input zero point for a convolution).
"""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError


def out_and_pad(
    size: int, kernel: int, stride: int, dilation: int, padding: str
) -> tuple[int, int]:
    """(output size, padding before) of one spatial dim."""
    if stride < 1 or dilation < 1 or kernel < 1:
        raise OpArgumentError(f"kernel {kernel}, stride {stride}, dilation {dilation} must be >= 1")
    span = (kernel - 1) * dilation + 1
    if padding == "SAME":
        out = (size + stride - 1) // stride
        return out, max((out - 1) * stride + span - size, 0) // 2
    if padding == "VALID":
        return max((size - span) // stride + 1, 0), 0
    raise OpArgumentError(f"padding must be 'SAME' or 'VALID', got {padding!r}")


def windows(
    x__nhwc: np.ndarray,
    kernel: tuple[int, int],
    strides: list[int] | tuple[int, ...],
    dilations: list[int] | tuple[int, ...],
    padding: str,
    fill: int,
) -> np.ndarray:
    """[N, OH, OW, KH, KW, C]: the input under each tap of each output position."""
    if x__nhwc.ndim != 4:
        raise OpArgumentError(f"expected a 4-D NHWC input, got shape {list(x__nhwc.shape)}")
    if len(strides) != 2 or len(dilations) != 2:
        raise OpArgumentError(f"strides {strides} and dilations {dilations} need 2 values each")
    n, h, w, c = x__nhwc.shape
    (oh, top), (ow, left) = (
        out_and_pad(size, k, s, d, padding)
        for size, k, s, d in zip((h, w), kernel, strides, dilations)
    )
    sh, sw = strides
    dh, dw = dilations
    bottom = max((oh - 1) * sh + (kernel[0] - 1) * dh + 1 - h - top, 0)
    right = max((ow - 1) * sw + (kernel[1] - 1) * dw + 1 - w - left, 0)
    padded = np.pad(x__nhwc, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    out = np.empty((n, oh, ow, kernel[0], kernel[1], c), x__nhwc.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            out[:, :, :, i, j, :] = padded[:, rows, cols]
    return out


def in_bounds_count(
    shape: tuple[int, ...], kernel: tuple[int, int], strides: list[int], padding: str
) -> np.ndarray:
    """[1, OH, OW, 1]: how many taps of each window lie inside the image (pooling's divisor)."""
    ones = np.ones((1, shape[1], shape[2], 1), np.int64)
    taps = windows(ones, kernel, strides, [1, 1], padding, 0)
    return taps.sum(axis=(3, 4))
