"""N-bit codes for a float weight: scales (and zero points) per tensor, per channel or per block,
chosen to minimise the squared error, and the integer codes.

Symmetric (signed codes, zero point 0): N >= 2 uses the restricted range [-(2^(N-1)-1),
2^(N-1)-1] (so 2 bits is ternary {-1, 0, +1}); 1 bit is a sign, codes {-1, +1}, with the scale
mean|w| (the least-squares scale of sign(w)). Asymmetric (unsigned codes 0..2^N-1): the range
[min(w, 0), max(w, 0)], zero point round(-low / scale), so 0 is exact.
For N <= 8 the range is also shrunk by each ratio of a grid (clipping the largest weights) and
each row keeps the ratio with the smallest squared error: at 2-4 bits this roughly halves the
error of plain max-abs scaling; 9+ bits keep the full range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_TINY = np.float32(np.finfo(np.float32).tiny)


@dataclass
class Codes:
    """codes: the integer codes in `container`'s dtype, the weight's shape; scale / zero_point:
    float32 / container, shaped as DequantizeLinear takes them (scalar, 1-D on `axis`, or the
    blocked layout); dequantized: (codes - zero_point) * scale as float32."""

    codes: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None
    block_size: int
    dequantized: np.ndarray


def container(bits: int, symmetric: bool) -> np.dtype:
    if bits <= 8:
        return np.dtype(np.int8 if symmetric else np.uint8)
    return np.dtype(np.int16 if symmetric else np.uint16)


def _ratios(bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The coarse grid of range ratios, and the steps tried around each row's best one."""
    if bits <= 4:
        return np.linspace(0.2, 1.0, 17), np.array([-0.03, -0.015, 0.015, 0.03])
    if bits <= 8:
        return np.linspace(0.7, 1.0, 7), np.array([-0.03, -0.015, 0.015, 0.03])
    return np.ones(1), np.zeros(0)


def quantize_weight(
    w: np.ndarray, bits: int, *, axis: int | None, block_axis: int | None, block_size: int,
    symmetric: bool,
) -> Codes:  # fmt: skip
    """Codes of `w`: per tensor (axis None), per channel along `axis`, or in blocks of
    `block_size` along `block_axis` (one scale per block and per index of every other axis)."""
    w64 = np.asarray(w, dtype=np.float64)
    if block_size:
        assert block_axis is not None
        moved = np.moveaxis(w64, block_axis, -1)
        n = moved.shape[-1]
        nb = -(-n // block_size)
        padded = np.full(moved.shape[:-1] + (nb * block_size,), np.nan)
        padded[..., :n] = moved
        rows = padded.reshape(-1, block_size)
        param_shape = moved.shape[:-1] + (nb,)
    elif axis is not None:
        moved = np.moveaxis(w64, axis, 0)
        rows = moved.reshape(moved.shape[0], -1)
        param_shape = (moved.shape[0],)
    else:
        rows = w64.reshape(1, -1)
        param_shape = ()
    scale, zp = _fit_rows(rows, bits, symmetric)
    dtype = container(bits, symmetric)
    codes_rows = _codes(rows, scale, zp, bits, symmetric)
    deq_rows = (codes_rows - zp[:, None]) * scale.astype(np.float64)[:, None]
    scale_p = scale.reshape(param_shape)
    zp_p = zp.reshape(param_shape)
    if block_size:
        codes = codes_rows.reshape(padded.shape)[..., :n]
        deq = deq_rows.reshape(padded.shape)[..., :n]
        codes, deq = np.moveaxis(codes, -1, block_axis), np.moveaxis(deq, -1, block_axis)
        scale_p, zp_p = np.moveaxis(scale_p, -1, block_axis), np.moveaxis(zp_p, -1, block_axis)
    elif axis is not None:
        codes = np.moveaxis(codes_rows.reshape(moved.shape), 0, axis)
        deq = np.moveaxis(deq_rows.reshape(moved.shape), 0, axis)
    else:
        codes, deq = codes_rows.reshape(w.shape), deq_rows.reshape(w.shape)
    return Codes(
        codes=np.ascontiguousarray(codes).astype(dtype),
        scale=np.ascontiguousarray(scale_p).astype(np.float32),
        zero_point=np.ascontiguousarray(zp_p).astype(dtype),
        axis=block_axis if block_size else axis,
        block_size=block_size,
        dequantized=np.ascontiguousarray(deq).astype(np.float32),
    )


def _fit_rows(rows: np.ndarray, bits: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """float32 scale and int64 zero point per row (NaN entries are padding)."""
    if symmetric and bits == 1:
        mean = np.nanmean(np.abs(rows), axis=1)
        scale = np.maximum(np.nan_to_num(mean).astype(np.float32), _TINY)
        return scale, np.zeros(rows.shape[0], dtype=np.int64)
    low = np.minimum(np.nan_to_num(np.nanmin(rows, axis=1)), 0.0)
    high = np.maximum(np.nan_to_num(np.nanmax(rows, axis=1)), 0.0)
    clean = np.nan_to_num(rows).astype(np.float32)  # float32 and in place: the search is hot
    valid = None if not np.isnan(rows).any() else (~np.isnan(rows)).astype(np.float32)
    code_low, code_high = _code_range(bits, symmetric)
    best = (np.full(rows.shape[0], np.inf), np.ones(rows.shape[0], np.float32),
            np.zeros(rows.shape[0], np.int64), np.ones(rows.shape[0]))  # fmt: skip
    coarse, steps = _ratios(bits)
    candidates = [np.full(rows.shape[0], r) for r in coarse]
    for i in range(len(coarse) + len(steps)):
        ratio = (
            candidates[i]
            if i < len(coarse)
            else np.clip(best[3] + steps[i - len(coarse)], 0.05, 1.0)
        )
        scale, zp = _params(low * ratio, high * ratio, bits, symmetric)
        q = clean * (1.0 / scale)[:, None]
        np.rint(q, out=q)
        q += zp[:, None].astype(np.float32)
        np.clip(q, code_low, code_high, out=q)
        q -= zp[:, None].astype(np.float32)
        q *= scale[:, None]
        q -= clean
        q *= q
        if valid is not None:
            q *= valid
        err = q.sum(axis=1, dtype=np.float64)
        better = err < best[0]
        for k, value in enumerate((err, scale, zp, ratio)):
            best[k][better] = value[better]
    return best[1], best[2]


def _code_range(bits: int, symmetric: bool) -> tuple[int, int]:
    if symmetric:
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _params(
    low: np.ndarray, high: np.ndarray, bits: int, symmetric: bool
) -> tuple[np.ndarray, np.ndarray]:
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        scale = (np.maximum(-low, high) / qmax).astype(np.float32)
        zp = np.zeros(low.shape, dtype=np.int64)
    else:
        qmax = 2**bits - 1
        scale = ((high - low) / qmax).astype(np.float32)
    flat = ~(scale > _TINY)  # an all-zero row: any scale is exact
    scale = np.where(flat, np.float32(1.0), scale).astype(np.float32)
    if not symmetric:
        zp = np.clip(np.rint(-low / scale.astype(np.float64)), 0, qmax).astype(np.int64)
    return scale, zp


def _codes(
    rows: np.ndarray, scale: np.ndarray, zp: np.ndarray, bits: int, symmetric: bool
) -> np.ndarray:
    """Integer codes (int64) of each row: round half to even, then clip to the code range."""
    if symmetric and bits == 1:
        return np.where(np.nan_to_num(rows) >= 0, 1, -1).astype(np.int64)
    low, high = _code_range(bits, symmetric)
    q = np.rint(np.nan_to_num(rows) / scale.astype(np.float64)[:, None]) + zp[:, None]
    return np.clip(q, low, high).astype(np.int64)
