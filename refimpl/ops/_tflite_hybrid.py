"""TFLite's hybrid (dynamic-range) kernels: float activations, int8 weights. The input is
quantised per batch at run time (kernels/internal/reference/portable_tensor_utils.cc:
SymmetricQuantizeFloats, AsymmetricQuantizeFloats), multiplied with the weights in int32, and the
sums scaled back to float32 by the batch's and the weights' scales."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError
from . import _tflite_fixed_point as fp
from ._tflite_window import windows

# fused activation -> float clamp (ApplyActivationToVector / ActivationFunctionWithMinMax)
CLAMPS = {"NONE": None, "RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def symmetric_quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: range = max |x| (float32); q = round(x * float32(127 / range)) in [-127, 127],
    scaling factor float32(range / 127); a zero row gives zeros and factor 1."""
    rows = np.asarray(rows, np.float32)
    if rows.shape[-1] == 0:
        return np.zeros(rows.shape, np.int8), np.ones(rows.shape[0], np.float32)
    span = np.maximum(np.abs(rows.min(axis=-1)), np.abs(rows.max(axis=-1))).astype(np.float32)
    zero = span == 0
    safe = np.where(zero, np.float32(1), span)
    factor = np.where(zero, np.float32(1), safe / np.float32(127)).astype(np.float32)
    inverse = (np.float32(127) / safe).astype(np.float32)
    with np.errstate(invalid="ignore"):
        q = fp.round_half_away((rows * inverse[:, None]).astype(np.float32))
    q = np.where(zero[:, None], 0, np.clip(q, -127, 127))
    return q.astype(np.int8), factor


def asymmetric_quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the range [min(0, min x), max(0, max x)] onto [-128, 127]: the zero point of the
    smaller error from the double scale (max - min) / 255 (nudged into range, rounded half away),
    the stored scale s = float32(max - min) / 255 in float32, q = round(float32(zp) + x *
    float32(1 / s)) clamped; returns (q, s, zero point); a zero range gives zeros, scale 1 and
    zero point 0."""
    rows = np.asarray(rows, np.float32)
    if rows.shape[-1] == 0:
        n = rows.shape[0]
        return np.zeros(rows.shape, np.int8), np.ones(n, np.float32), np.zeros(n, np.int64)
    rmin = np.minimum(np.float32(0), rows.min(axis=-1)).astype(np.float64)
    rmax = np.maximum(np.float32(0), rows.max(axis=-1)).astype(np.float64)
    flat = rmin == rmax
    scale = np.where(flat, 1.0, (rmax - rmin) / 255.0)
    from_min, from_max = -128.0 - rmin / scale, 127.0 - rmax / scale
    err_min, err_max = 128.0 + np.abs(rmin / scale), 127.0 + np.abs(rmax / scale)
    zp_real = np.where(err_min < err_max, from_min, from_max)
    zp = np.where(
        zp_real <= -128, -128, np.where(zp_real >= 127, 127, fp.round_half_away(zp_real))
    ).astype(np.int64)
    zp = np.where(flat, 0, zp)
    # the stored scale is float32(rmax - rmin) / 255 in float32 (what LiteRT 2.3's x86 build
    # computes: the double expression of its source rounds differently on ~1 row in 10)
    narrow = (rmax.astype(np.float32) - rmin.astype(np.float32)).astype(np.float32)
    factor = np.where(flat, np.float32(1), narrow / np.float32(255)).astype(np.float32)
    inverse = (np.float32(1) / factor).astype(np.float32)
    scaled = (rows * inverse[:, None]).astype(np.float32)
    fused = (zp[:, None].astype(np.float32) + scaled).astype(np.float32)
    with np.errstate(invalid="ignore"):
        q = fp.round_half_away(fused)
    q = np.where(flat[:, None], 0, np.clip(q, -128, 127))
    return q.astype(np.int8), factor, zp


def clamp(y: np.ndarray, activation: str) -> np.ndarray:
    if activation not in CLAMPS:
        raise OpArgumentError(
            f"hybrid TFLite kernels apply {sorted(CLAMPS)} exactly, not {activation!r}"
        )
    bounds = CLAMPS[activation]
    if bounds is None:
        return y
    low = np.float32(bounds[0])
    y = np.maximum(y, low)
    return y if bounds[1] is None else np.minimum(y, np.float32(bounds[1]))


def conv_accumulate(q: np.ndarray, offsets: np.ndarray, w: np.ndarray, strides, dilations,
                    padding: str, depthwise: bool) -> np.ndarray:  # fmt: skip
    """int64 sums of w * (q - offset[batch]) over the in-image taps (taps outside add nothing),
    NHWC q; w OHWI (groups = C / I) or [1, KH, KW, C*M] when depthwise."""
    out = []
    for b in range(q.shape[0]):
        off = int(offsets[b])
        taps = windows(q[b : b + 1], w.shape[1:3], strides, dilations, padding, off)
        patches = taps.astype(np.int64) - off  # [1, OH, OW, KH, KW, C]
        if depthwise:
            patches = np.repeat(patches, w.shape[3] // q.shape[3], axis=-1)
            out.append(
                np.einsum("nhwijc,ijc->nhwc", patches.astype(np.float64),
                          w[0].astype(np.float64)).astype(np.int64)
            )  # fmt: skip
            continue
        groups, depth = q.shape[3] // w.shape[3], w.shape[3]
        per_group = w.shape[0] // groups
        out.append(
            np.concatenate(
                [
                    fp.int_dot(
                        patches[..., g * depth : (g + 1) * depth].reshape(*patches.shape[:3], -1),
                        w[g * per_group : (g + 1) * per_group].reshape(per_group, -1).T,
                    )
                    for g in range(groups)
                ],
                axis=-1,
            )
        )
    return np.concatenate(out, axis=0)
