"""Separable resampling shared by Resize and Upsample.

Each resized axis gets, per output index, a coordinate in the input (the coordinate transformation
mode) and a few taps (input indices and weights: nearest, linear or cubic kernel, optionally
stretched by 1/scale for antialiasing). Taps outside the input read the edge value (or are dropped
with exclude_outside). The axes are resized one after another in float64, then cast back.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import OpArgumentError

COORD_MODES = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_half_pixel_for_nn",
    "tf_crop_and_resize",
)
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "legacy")

# the coordinate transformation modes each Resize version accepts (10 has none: asymmetric)
_MODES_13 = (
    "half_pixel",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
)
RESIZE_COORD_MODES = {
    10: ("asymmetric",),
    11: _MODES_13 + ("tf_half_pixel_for_nn",),
    13: _MODES_13,
    18: _MODES_13,
    19: _MODES_13 + ("half_pixel_symmetric",),
}


def source_coords(
    mode: str, out_len: int, in_len: int, scale: float, roi: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Input coordinate of every output index, and (tf_crop_and_resize) which fall outside."""
    # float32, as onnxruntime computes: ties such as scale 1.7 then round as the user meant
    y = np.arange(out_len, dtype=np.float32)
    scale = np.float32(scale)  # type: ignore[assignment]
    out_f = scale * np.float32(in_len)  # the fractional output length the scale implies
    if mode == "half_pixel":
        return (y + 0.5) / scale - 0.5, None
    if mode == "half_pixel_symmetric":
        offset = in_len / 2 * (1 - out_len / out_f)
        return offset + (y + 0.5) / scale - 0.5, None
    if mode == "pytorch_half_pixel":
        return ((y + 0.5) / scale - 0.5 if out_len > 1 else np.zeros_like(y)), None
    if mode == "align_corners":
        return (y * (in_len - 1) / (out_f - 1) if out_f != 1 else np.zeros_like(y)), None
    if mode == "asymmetric":
        return y / scale, None
    if mode == "tf_half_pixel_for_nn":
        return (y + 0.5) / scale, None
    if mode == "tf_crop_and_resize":
        start, end = roi
        if out_f != 1:
            x = start * (in_len - 1) + y * (end - start) * (in_len - 1) / (out_f - 1)
        else:
            x = np.full_like(y, 0.5 * (start + end) * (in_len - 1))
        return x, (x < 0) | (x > in_len - 1)
    raise OpArgumentError(f"unknown coordinate_transformation_mode {mode!r}")


def _nearest(x: np.ndarray, nearest_mode: str, scale: float) -> np.ndarray:
    if nearest_mode == "round_prefer_floor":
        return np.ceil(x - 0.5)
    if nearest_mode == "round_prefer_ceil":
        return np.floor(x + 0.5)
    if nearest_mode == "floor" or (nearest_mode == "legacy" and scale >= 1):
        return np.floor(x)
    if nearest_mode in ("ceil", "legacy"):  # legacy (opset < 11) rounds up when downsampling
        return np.ceil(x)
    raise OpArgumentError(f"unknown nearest_mode {nearest_mode!r}")


def _kernel(d: np.ndarray, mode: str, a: float) -> np.ndarray:
    d = np.abs(d)
    if mode == "linear":
        return np.clip(1 - d, 0, 1)
    near = ((a + 2) * d - (a + 3)) * d * d + 1  # Keys cubic, |d| <= 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a  # 1 < |d| < 2
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def taps(x: np.ndarray, in_len: int, scale: float, opts: dict) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (out_len, n_taps), for the input coordinates x."""
    mode = opts["mode"]
    if mode == "nearest":
        idx = _nearest(x, opts["nearest_mode"], scale).astype(np.int64)[:, None]
        return np.clip(idx, 0, in_len - 1), np.ones(idx.shape)
    stretch = min(scale, 1.0) if opts["antialias"] else 1.0
    radius = 1 if mode == "linear" else 2
    first = math.floor(-radius / stretch) + 1  # the taps around floor(x) the kernel reaches
    idx = np.floor(x).astype(np.int64)[:, None] + np.arange(first, 2 - first)[None, :]
    w = _kernel((idx - x[:, None]) * stretch, mode, opts["cubic_coeff_a"])
    if opts["antialias"]:
        w = w / w.sum(axis=1, keepdims=True)
    if opts["exclude_outside"]:
        w = np.where((idx < 0) | (idx >= in_len), 0.0, w)
        total = w.sum(axis=1, keepdims=True)
        w = w / np.where(total == 0, 1.0, total)
    return np.clip(idx, 0, in_len - 1), w


def resize_axis(data, axis: int, out_len: int, scale: float, roi, opts: dict) -> np.ndarray:
    in_len = data.shape[axis]
    if out_len == 0 or in_len == 0:
        shape = list(data.shape)
        shape[axis] = out_len
        return np.zeros(shape, dtype=data.dtype)
    x, outside = source_coords(opts["coordinate_transformation_mode"], out_len, in_len, scale, roi)
    x = x.astype(np.float64)
    idx, w = taps(x, in_len, scale, opts)
    bshape = [1] * data.ndim
    bshape[axis] = out_len
    out = np.zeros(())
    for j in range(idx.shape[1]):  # a few kernel taps
        out = out + np.take(data, idx[:, j], axis=axis) * w[:, j].reshape(bshape)
    if outside is not None and outside.any():
        out = np.where(outside.reshape(bshape), opts["extrapolation_value"], out)
    return out
