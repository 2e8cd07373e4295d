import numpy as np

from ..registry import reference_op
from ._float_math import FLOAT_AND_FLOAT8, widen


@reference_op("IsNaN", since=9, dtypes=FLOAT_AND_FLOAT8)
def is_nan_9(x: np.ndarray) -> np.ndarray:
    """y = x is NaN"""
    return np.isnan(widen(x))
