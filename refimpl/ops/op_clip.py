import numpy as np

from ..dtypes import FLOAT, NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._ew_math import float_map

_FLT_MAX = 3.4028234663852886e38


@reference_op("Clip", since=6, dtypes=FLOAT)
def clip_6(x: np.ndarray, *, min: float = -_FLT_MAX, max: float = _FLT_MAX) -> np.ndarray:
    """y = min(max(x, min), max) with attribute bounds"""
    return float_map(lambda v: np.minimum(np.maximum(v, min), max), x)  # no float16 overflow


@reference_op("Clip", since=11, dtypes=NUMERIC)
def clip_11(
    x: np.ndarray, min: np.ndarray | None = None, max: np.ndarray | None = None
) -> np.ndarray:
    """y = min(max(x, min), max); an absent bound does not clip (min > max gives max)"""
    y = x.copy()
    for name, bound, fn in (("min", min, np.maximum), ("max", max, np.minimum)):
        if bound is None:
            continue
        if bound.size != 1:
            raise OpArgumentError(f"Clip {name} must be a scalar, got shape {bound.shape}")
        y = fn(y, bound.reshape(()).astype(x.dtype))
    return y
