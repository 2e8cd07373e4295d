import itertools
import math

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._im2col import check_groups, float_compute
from ._window import window


def _sample(x, coords, spatial):
    """Multilinear interpolation of x (N, G, Cg, P) at coords[d] (N, G, T); zero outside."""
    lows = [np.floor(c) for c in coords]
    out = 0
    for corner in itertools.product((0, 1), repeat=len(spatial)):
        weight, flat, inside = 1, 0, True
        for c, low, bit, size in zip(coords, lows, corner, spatial):
            idx = low + bit
            weight = weight * (1 - np.abs(c - idx))
            inside = inside & (idx >= 0) & (idx < size)
            flat = flat * size + np.clip(idx, 0, size - 1).astype(np.int64)
        values = np.take_along_axis(x, flat[:, :, None, :], axis=3)
        out = out + values * (weight * inside)[:, :, None, :].astype(x.dtype)
    return out


@reference_op("DeformConv", since=19, dtypes=FLOAT)
def deform_conv_19(
    x: np.ndarray,
    w: np.ndarray,
    offset: np.ndarray,
    b: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    *,
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    offset_group: int = 1,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, m, o] = b[m] + sum_{c, k} w[m, c, k] * mask[n, k, o] * bilinear(x[n, c], o*s - pad +
    k*d + offset[n, k, o])"""
    n, c, *spatial = x.shape
    kernel = tuple(kernel_shape or w.shape[2:])
    win = window(spatial, kernel, strides=strides, dilations=dilations, pads=pads)
    check_groups(c, w.shape, group)
    rank, taps, out = len(spatial), math.prod(kernel), tuple(offset.shape[2:])
    if offset_group < 1 or c % offset_group or offset.shape[1] != offset_group * rank * taps:
        raise OpArgumentError(
            f"offset {list(offset.shape)} must be (N, offset_group*{rank}*{taps}, *out) with "
            f"C={c} divisible by offset_group={offset_group}"
        )
    if out != win.out:
        raise OpArgumentError(
            f"offset spatial shape {list(out)} != conv output shape {list(win.out)}"
        )
    xf, length = float_compute(x), math.prod(out)
    off = float_compute(offset).reshape(n, offset_group, taps, rank, length)
    coords = []
    for d in range(rank):
        tap = np.indices(kernel)[d].reshape(taps, 1) * win.dilations[d]
        pos = np.indices(out)[d].reshape(1, length) * win.strides[d] - win.pads_begin[d]
        coords.append((tap + pos + off[:, :, :, d]).reshape(n, offset_group, taps * length))
    points = math.prod(spatial)
    sampled = _sample(xf.reshape(n, offset_group, c // offset_group, points), coords, spatial)
    if mask is not None:
        sampled = sampled * float_compute(mask).reshape(n, offset_group, 1, taps * length)
    cols = sampled.reshape(n, group, (c // group) * taps, length)
    y = np.matmul(float_compute(w).reshape(group, w.shape[0] // group, -1), cols)
    y = y.reshape(n, w.shape[0], *out)
    if b is not None:
        y = y + float_compute(b).reshape((1, -1) + (1,) * rank)
    return y.astype(x.dtype, copy=False)
