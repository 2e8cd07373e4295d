import numpy as np

from ..registry import reference_op
from ._float_math import FLOAT_AND_FLOAT8, widen


@reference_op("IsInf", since=10, dtypes=FLOAT_AND_FLOAT8)
def is_inf_10(x: np.ndarray, *, detect_negative: int = 1, detect_positive: int = 1) -> np.ndarray:
    """y = (x == +inf and detect_positive) or (x == -inf and detect_negative)"""
    wide = widen(x)
    return (np.isposinf(wide) & bool(detect_positive)) | (np.isneginf(wide) & bool(detect_negative))
