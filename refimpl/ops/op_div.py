import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Div", since=7, dtypes=NUMERIC)
def div_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a / b; integers truncate toward zero as in C (x / 0 is 0 for integers)"""
    if a.dtype.kind not in "iu":
        return np.divide(a, b, dtype=a.dtype)
    quotient = np.floor_divide(a, b)
    if a.dtype.kind == "i":  # floor and truncation differ when the signs differ and it is inexact
        inexact = np.remainder(a, b) != 0
        quotient = quotient + (inexact & ((a < 0) != (b < 0))).astype(a.dtype)
    return quotient.astype(a.dtype, copy=False)
