import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Atanh", since=9, dtypes=FLOAT)
def atanh_9(x: np.ndarray) -> np.ndarray:
    """y = arctanh(x)"""
    return float_map(np.arctanh, x)
