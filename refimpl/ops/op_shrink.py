import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._float_math import widen


@reference_op("Shrink", since=9, dtypes=NUMERIC)
def shrink_9(x: np.ndarray, *, bias: float = 0.0, lambd: float = 0.5) -> np.ndarray:
    """y = x + bias if x < -lambd, x - bias if x > lambd, else 0"""
    v = widen(x)
    y = np.where(v < -lambd, v + bias, np.where(v > lambd, v - bias, 0.0))
    return y.astype(x.dtype, copy=False)
