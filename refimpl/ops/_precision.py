"""Precision helpers shared by the matmul, normalisation and attention ops."""

from __future__ import annotations

import numpy as np

_NATIVE_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def widen(x: np.ndarray) -> np.ndarray:
    """x as float32 when numpy has no fast arithmetic for its float type (bfloat16, float8)."""
    if x.dtype.kind in "biu" or x.dtype in _NATIVE_FLOATS:
        return x
    return x.astype(np.float32)


def stash(x: np.ndarray, stash_type: int) -> np.ndarray:
    """x in the precision a normalisation computes in: float32 for stash_type 1, else as given."""
    if stash_type == 1:
        return x.astype(np.float32) if x.dtype != np.float64 else x
    return widen(x)


def channel_shape(x: np.ndarray) -> tuple[int, ...]:
    """The shape (C, 1, ..., 1) that broadcasts a per-channel vector over an N-C-D1..Dn tensor."""
    return (-1,) + (1,) * (x.ndim - 2)


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    """A non-negative axis in [0, rank), or OpArgumentError."""
    from ..errors import OpArgumentError

    if not -rank <= axis < rank:
        raise OpArgumentError(f"{what} {axis} is out of range for a rank-{rank} input")
    return axis % rank
