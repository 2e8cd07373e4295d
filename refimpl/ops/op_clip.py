import numpy as np

from ..dtypes import FLOAT, NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op

_FLT_MAX = 3.4028234663852886e38


def _clip(x: np.ndarray, low: np.ndarray | None, high: np.ndarray | None) -> np.ndarray:
    """min(max(x, low), high) in x's dtype; a bound of None does not clip."""
    # np.clip is numpy's minimum(maximum(x, low), high) (NaN stays NaN, low > high gives high),
    # with a fast loop for two bounds; out= keeps a 0-d result an array.
    return np.clip(x, low, high, out=np.empty_like(x))


def _as_dtype(bound: float, dtype: np.dtype) -> np.ndarray:
    """bound rounded to dtype; exact for clipping, since rounding is monotone (overflow -> inf)."""
    with np.errstate(over="ignore"):
        return np.array(bound).astype(dtype)


@reference_op("Clip", since=6, dtypes=FLOAT)
def clip_6(x: np.ndarray, *, min: float = -_FLT_MAX, max: float = _FLT_MAX) -> np.ndarray:
    """y = min(max(x, min), max) with attribute bounds"""
    return _clip(x, _as_dtype(min, x.dtype), _as_dtype(max, x.dtype))


@reference_op("Clip", since=11, dtypes=NUMERIC)
def clip_11(
    x: np.ndarray, min: np.ndarray | None = None, max: np.ndarray | None = None
) -> np.ndarray:
    """y = min(max(x, min), max); an absent bound does not clip (min > max gives max)"""
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and bound.size != 1:
            raise OpArgumentError(f"Clip {name} must be a scalar, got shape {bound.shape}")
    low, high = (None if b is None else b.reshape(()).astype(x.dtype) for b in (min, max))
    return _clip(x, low, high)
