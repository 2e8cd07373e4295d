import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._float_math import widen


@reference_op("Pow", since=7, dtypes=NUMERIC)
def pow_7(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z = x ** y in x's dtype (integer x: truncated; integer x ** negative integer y as in C)"""
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        # x**-n = 1 / x**n truncates to 0 unless |x| == 1 (and x == 0 is undefined: 0 here)
        wide = np.dtype(np.uint64 if x.dtype.kind == "u" else np.int64)  # wraps like x's dtype
        z = np.power(x.astype(wide), np.abs(y).astype(wide))
        z = np.where((y < 0) & (np.abs(x) != 1), 0, z)
    else:
        base = x if x.dtype.kind in "iu" else widen(x)
        exponent = y if y.dtype.kind in "iu" else widen(y)
        z = np.power(base, exponent)
    return np.asarray(z).astype(x.dtype, copy=False)
