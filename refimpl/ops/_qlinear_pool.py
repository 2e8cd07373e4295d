"""Exact int32 window sums of (x - x_zero_point) for the QLinear average pools."""

from __future__ import annotations

import numpy as np

from ._im2col import windows
from ._pooling import _counts, _over_taps
from ._window import Window


def window_sums(x: np.ndarray, zero_point: int, win: Window) -> np.ndarray:
    """sum over the taps inside x of (x - zero_point), per window; padding adds nothing."""
    shifted = x.astype(np.int64) - zero_point
    return _over_taps(np.add, windows(shifted, win, 0), win, 0, x.shape[2:])


def window_counts(x_shape: tuple[int, ...], win: Window, count_include_pad: int) -> np.ndarray:
    """Taps per window inside x (or inside x and its pads when counted), broadcast to the output."""
    divisor = np.ones((), dtype=np.int64)
    for axis, size in enumerate(x_shape[2:]):
        b, e = win.pads_begin[axis], win.pads_end[axis]
        low, high = (0, b + size + e) if count_include_pad else (b, b + size)
        cnt = _counts(
            size, win.out[axis], win.kernel[axis], win.strides[axis], win.dilations[axis], low, high
        )
        divisor = np.multiply.outer(divisor, cnt)
    return np.maximum(divisor, 1)


def to_channels_first(x: np.ndarray, channels_last: int) -> np.ndarray:
    return np.moveaxis(x, -1, 1) if channels_last else x


def from_channels_first(y: np.ndarray, channels_last: int) -> np.ndarray:
    return np.moveaxis(y, 1, -1) if channels_last else y
