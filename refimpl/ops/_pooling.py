"""Pooling over sliding windows: max (with argmax indices), average and Lp."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ._im2col import float_compute, windows
from ._window import Window


def _over_taps(
    ufunc: np.ufunc, view: np.ndarray, win: Window, initial: float, spatial: tuple[int, ...]
) -> np.ndarray:
    """ufunc-reduce a window view (N, C, *kernel, *out) over its kernel taps -> (N, C, *out).

    One pass per kernel offset over a strided slice: far faster than reducing the 2+rank-axis
    view, and no window is ever copied out. Taps that fall in the padding for every output add
    only `initial` (the reduction's identity) and are skipped, so a huge kernel over a small
    padded input costs what its few useful taps cost.
    """
    y = np.full(view.shape[:2] + win.out, initial, dtype=view.dtype)
    every: tuple[Any, ...] = (slice(None), slice(None))
    for k in itertools.product(*_useful_taps(win, spatial)):
        ufunc(y, view[every + k], out=y)
    return y


def _useful_taps(win: Window, spatial: tuple[int, ...]) -> list[range]:
    """Per axis, the taps k that reach the input for some output o: b <= o*s + k*d < b + n."""
    ranges = []
    for n, k, s, d, b, o in zip(
        spatial, win.kernel, win.strides, win.dilations, win.pads_begin, win.out
    ):
        first = max(0, -(-(b - (o - 1) * s) // d))
        last = min(k - 1, (b + n - 1) // d)
        ranges.append(range(first, last + 1))
    return ranges


def _lowest(dtype: np.dtype) -> float | int:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_pool(x: np.ndarray, win: Window) -> np.ndarray:
    """y[n, c, o] = max over the window taps inside the input (padding never wins)."""
    src = x if x.dtype.kind in "iu" else float_compute(x)
    low = _lowest(src.dtype)
    y = _over_taps(np.maximum, windows(src, win, low), win, low, x.shape[2:])
    return y.astype(x.dtype, copy=False)


def max_pool_indices(x: np.ndarray, win: Window, storage_order: int = 0) -> np.ndarray:
    """Flat index into x of the first maximal tap of each window (int64, padding excluded).

    storage_order 0 numbers the spatial axes row-major, 1 column-major; batch and channel always
    come first: index = (n * C + c) * prod(spatial) + spatial_index.
    """
    n, c, *spatial = x.shape
    src = x.astype(np.float64)  # exact for every pooled dtype; -inf padding never ties a value
    view = windows(src, win, -np.inf)
    taps = view.reshape(n, c, math.prod(win.kernel), *win.out).argmax(axis=2)
    tap_coords = np.unravel_index(taps, win.kernel)
    order = range(len(spatial)) if storage_order else reversed(range(len(spatial)))
    index = np.zeros(taps.shape, dtype=np.int64)
    step = 1
    for axis in order:
        o = np.arange(win.out[axis]).reshape((-1,) + (1,) * (len(spatial) - 1 - axis))
        pos = o * win.strides[axis] + tap_coords[axis] * win.dilations[axis] - win.pads_begin[axis]
        index += pos * step
        step *= spatial[axis]
    nc = np.arange(n * c, dtype=np.int64).reshape((n, c) + (1,) * len(spatial))
    return index + nc * step


def _counts(size: int, out: int, k: int, s: int, d: int, low: int, high: int) -> np.ndarray:
    """How many taps of each window along one axis fall in [low, high): for window o, the taps
    j in [0, k) with low <= o*s + j*d < high, i.e. ceil((low - o*s)/d) <= j < ceil((high - o*s)/d).
    """
    start = np.arange(out, dtype=np.int64) * s
    first = np.clip(-((start - low) // d), 0, k)  # ceil((low - start) / d), within [0, k]
    end = np.clip(-((start - high) // d), 0, k)
    return np.maximum(end - first, 0)


def avg_pool(x: np.ndarray, win: Window, count_include_pad: int) -> np.ndarray:
    """y = sum of the window taps / number of taps in the input (or in input+pads if counted)."""
    xf = float_compute(x)
    total = _over_taps(np.add, windows(xf, win, 0), win, 0, x.shape[2:])
    divisor = np.ones((), dtype=np.int64)
    for axis, size in enumerate(x.shape[2:]):
        b, e = win.pads_begin[axis], win.pads_end[axis]
        # positions are in padded coordinates: the input spans [b, b + size)
        low, high = (0, b + size + e) if count_include_pad else (b, b + size)
        cnt = _counts(
            size, win.out[axis], win.kernel[axis], win.strides[axis], win.dilations[axis], low, high
        )
        divisor = np.multiply.outer(divisor, cnt)
    return (total / np.maximum(divisor, 1).astype(xf.dtype)).astype(x.dtype)


def lp_pool(x: np.ndarray, win: Window, p: float) -> np.ndarray:
    """y = (sum over the window taps of |x|^p) ^ (1/p); padding contributes 0."""
    xf = float_compute(x)
    power = np.abs(xf) ** xf.dtype.type(p)
    total = _over_taps(np.add, windows(power, win, 0), win, 0, x.shape[2:])
    return (total ** xf.dtype.type(1.0 / p)).astype(x.dtype)
