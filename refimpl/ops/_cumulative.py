"""The scan shared by CumSum and CumProd."""

from __future__ import annotations

import numpy as np

from ._axes import norm_axis, scalar_int

_HALF = ("float16", "bfloat16")  # by name: np.dtype("bfloat16") needs ml_dtypes imported


def cumulate(
    x: np.ndarray, axis: np.ndarray, ufunc: np.ufunc, identity: int, exclusive: int, reverse: int
) -> np.ndarray:
    """y[i] = op of x[j] over j <= i (j < i if exclusive; j >= i / j > i if reverse)."""
    ax = norm_axis(scalar_int(axis, "axis"), x.ndim)
    # 16-bit floats accumulate in float32 (numpy has no accurate fp16/bf16 scan)
    work = x.astype(np.float32) if x.dtype.name in _HALF else x
    if reverse:
        work = np.flip(work, ax)
    out = ufunc.accumulate(work, axis=ax, dtype=work.dtype)
    if exclusive and out.shape[ax]:
        first = np.full_like(np.take(out, [0], axis=ax), identity)
        out = np.concatenate([first, np.take(out, np.arange(out.shape[ax] - 1), axis=ax)], ax)
    if reverse:
        out = np.flip(out, ax)
    return np.ascontiguousarray(out).astype(x.dtype)
