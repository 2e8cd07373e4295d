import itertools

import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._grid_coords import cubic_weights, reflect, unnormalize


def _axis_taps(c: np.ndarray, size: int, mode: str, padding: str, align: int):
    """Per spatial axis: list of (index, weight, valid) taps for coordinates c."""
    lo, hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)
    if mode == "nearest":
        c = np.rint(c)  # round half to even, as PyTorch does
    # like PyTorch, cubic pads each tap, not the coordinate (its taps straddle the border)
    outside = ((c < lo) | (c > hi)) & (mode != "cubic")
    if padding == "border":
        c = np.where(outside, np.clip(c, 0, size - 1), c)
    elif padding == "reflection":
        c = np.where(outside, reflect(c, lo, hi), c)
    if mode == "nearest":
        base, weights = c, [np.ones_like(c)]
    else:
        base = np.floor(c)
        t = c - base
        weights = [1 - t, t] if mode == "linear" else cubic_weights(t)
        base = base - (0 if mode == "linear" else 1)
    out = []
    for k, w in enumerate(weights):
        i = base + k
        if padding == "zeros":
            valid = (i >= 0) & (i <= size - 1)
        else:
            valid = np.ones(i.shape, bool)
            i = np.clip(i, 0, size - 1) if padding == "border" else np.trunc(reflect(i, lo, hi))
        out.append((np.clip(i, 0, size - 1).astype(np.int64), w, valid))
    return out


def _grid_sample(x, grid, mode: str, padding: str, align: int) -> np.ndarray:
    r = x.ndim - 2
    if grid.ndim != r + 2 or grid.shape[-1] != r or grid.shape[0] != x.shape[0]:
        raise OpArgumentError(f"grid {list(grid.shape)} does not fit input {list(x.shape)}")
    if padding not in ("zeros", "border", "reflection"):
        raise OpArgumentError(f"GridSample padding_mode {padding!r} is not supported")
    n, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
    g = grid.astype(np.float64)
    # grid[..., 0] addresses the last (width) axis, grid[..., 1] the one before, ...
    per_axis = [
        _axis_taps(
            unnormalize(g[..., r - 1 - d], spatial[d], align), spatial[d], mode, padding, align
        )
        for d in range(r)
    ]
    flat_x = x.reshape(n, c, -1).astype(np.float64)
    strides = np.cumprod((1,) + spatial[::-1])[:-1][::-1]
    out = np.zeros((n, c, int(np.prod(grid.shape[1:-1]))))
    for combo in itertools.product(*per_axis):  # 1, 2^r or 4^r kernel taps
        flat_i = sum(i * s for (i, _, _), s in zip(combo, strides)).reshape(n, 1, -1)
        weight = np.prod([w * v for _, w, v in combo], axis=0).reshape(n, 1, -1)
        out += (
            np.take_along_axis(flat_x, np.broadcast_to(flat_i, (n, c, flat_i.shape[2])), 2) * weight
        )
    out = out.reshape((n, c) + grid.shape[1:-1])
    return np.rint(out).astype(x.dtype) if x.dtype.kind in "iub" else out.astype(x.dtype)


@reference_op("GridSample", since=16, dtypes=ALL)
def grid_sample_16(
    x: np.ndarray,
    grid: np.ndarray,
    *,
    align_corners: int = 0,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
) -> np.ndarray:
    """y[n, c, h, w] = x[n, c] sampled (bilinear/nearest/bicubic) at grid[n, h, w] in [-1, 1]^2"""
    modes = {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic"}
    if mode not in modes or x.ndim != 4:
        raise OpArgumentError(f"GridSample-16 needs 4-D input and mode in {list(modes)}")
    return _grid_sample(x, grid, modes[mode], padding_mode, align_corners)


@reference_op("GridSample", since=20, dtypes=ALL)
def grid_sample_20(
    x: np.ndarray,
    grid: np.ndarray,
    *,
    align_corners: int = 0,
    mode: str = "linear",
    padding_mode: str = "zeros",
) -> np.ndarray:
    """y[n, c, o..] = x[n, c] sampled (linear/nearest/cubic) at grid[n, o..] in [-1, 1]^r"""
    if mode not in ("linear", "nearest", "cubic"):
        raise OpArgumentError(f"GridSample mode must be linear, nearest or cubic, got {mode!r}")
    return _grid_sample(x, grid, mode, padding_mode, align_corners)
