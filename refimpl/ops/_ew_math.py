"""Shared pieces of the element-wise ops: dtype sets and float computation in a wide enough type."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..dtypes import FLOAT

FLOAT8 = frozenset({"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"})
FLOAT_AND_FLOAT8 = FLOAT | FLOAT8

_WIDE = (np.dtype(np.float32), np.dtype(np.float64))


def widen(x: np.ndarray) -> np.ndarray:
    """x as float32/float64: narrower floats (float16, bfloat16, float8) are computed in float32."""
    return x if x.dtype in _WIDE else x.astype(np.float32)


def float_map(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """fn(x) computed in float32 or float64 and rounded once back to x's dtype."""
    return np.asarray(fn(widen(x))).astype(x.dtype, copy=False)
