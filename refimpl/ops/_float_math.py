"""Shared pieces of the element-wise ops: dtype sets and float math done in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..dtypes import FLOAT

FLOAT8 = frozenset({"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"})
FLOAT_AND_FLOAT8 = FLOAT | FLOAT8


def widen(x: np.ndarray) -> np.ndarray:
    """x as float64, so composite formulas lose nothing before the one final rounding."""
    return x.astype(np.float64, copy=False)


def float_map(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """fn(x) computed in float64 and rounded once back to x's dtype (the reference's accuracy)."""
    return np.asarray(fn(widen(x))).astype(x.dtype, copy=False)
