"""im2col and col2im: sliding windows as strided views; a convolution is one batched matmul."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import OpArgumentError
from ._window import Window


def pad_spatial(
    x: np.ndarray, begin: Sequence[int], end: Sequence[int], value: float = 0
) -> np.ndarray:
    """x padded with `value` on its trailing len(begin) axes."""
    if not any(begin) and not any(end):
        return x
    width = [(0, 0)] * (x.ndim - len(begin)) + list(zip(begin, end))
    return np.pad(x, width, constant_values=value)


def windows(x: np.ndarray, win: Window, pad_value: float = 0) -> np.ndarray:
    """Read-only view v (N, C, *kernel, *out) of padded x: v[n, c, *k, *o] = xp[n, c, *(o*s+k*d)]"""
    spatial = x.shape[2:]
    ends = [
        max(0, (o - 1) * s + ext - n - b)  # the input padded just enough for the last window
        for o, s, ext, n, b in zip(win.out, win.strides, win.extent, spatial, win.pads_begin)
    ]
    xp = pad_spatial(x, win.pads_begin, ends, pad_value)
    steps = xp.strides[2:]
    shape = xp.shape[:2] + win.kernel + win.out
    strides = (
        xp.strides[:2]
        + tuple(st * d for st, d in zip(steps, win.dilations))
        + tuple(st * s for st, s in zip(steps, win.strides))
    )
    return as_strided(xp, shape, strides, writeable=False)


def im2col(x: np.ndarray, win: Window, pad_value: float = 0) -> np.ndarray:
    """(N, C, *spatial) -> columns (N, C, K, L): cols[n, c, k, l] = tap k of output position l."""
    n, c = x.shape[:2]
    return windows(x, win, pad_value).reshape(n, c, math.prod(win.kernel), math.prod(win.out))


def check_groups(c: int, w_shape: Sequence[int], group: int) -> None:
    m = w_shape[0]
    if group < 1 or c % group or m % group or c // group != w_shape[1]:
        raise OpArgumentError(
            f"input has {c} channels and W has shape {list(w_shape)}: with group={group} W must be "
            f"(M, C/group, *kernel) with M divisible by group"
        )


def conv(x: np.ndarray, w: np.ndarray, win: Window, group: int) -> np.ndarray:
    """y[n, g*Mg + m, o] = sum_{c, k} w[g*Mg + m, c, k] * xp[n, g*Cg + c, o*s + k*d] (no bias)."""
    n, c = x.shape[:2]
    check_groups(c, w.shape, group)
    taps = (c // group) * math.prod(win.kernel)
    cols = im2col(x, win).reshape(n, group, taps, math.prod(win.out))
    w_g = w.reshape(group, w.shape[0] // group, -1)
    return np.matmul(w_g, cols).reshape(n, w.shape[0], *win.out)


def col2im(
    cols: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads_begin: Sequence[int],
    out_shape: Sequence[int],
) -> np.ndarray:
    """Adjoint of `windows`: y[n, c, i*s + k*d - pad] += cols[n, c, *k, *i], cropped to out_shape.

    cols has shape (N, C, *kernel, *in); pads may be negative (the output then extends past the
    last tap and is zero there).
    """
    rank = len(kernel)
    in_shape = cols.shape[2 + rank :]
    full = [
        (i - 1) * s + (k - 1) * d + 1 for i, s, k, d in zip(in_shape, strides, kernel, dilations)
    ]
    lo = [min(0, b) for b in pads_begin]
    hi = [max(f, b + o) for f, b, o in zip(full, pads_begin, out_shape)]
    buf = np.zeros(cols.shape[:2] + tuple(h - low for h, low in zip(hi, lo)), dtype=cols.dtype)
    for k in np.ndindex(*kernel):
        dst: tuple[Any, ...] = (Ellipsis,) + tuple(
            slice(kk * d - low, kk * d - low + (i - 1) * s + 1, s)
            for kk, d, low, i, s in zip(k, dilations, lo, in_shape, strides)
        )
        buf[dst] += cols[(slice(None), slice(None), *k)]
    crop: tuple[Any, ...] = (Ellipsis,) + tuple(
        slice(b - low, b - low + o) for b, low, o in zip(pads_begin, lo, out_shape)
    )
    return buf[crop]


def float_compute(x: np.ndarray) -> np.ndarray:
    """x in the precision float ops compute in: float64 stays, every other float becomes float32."""
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)
