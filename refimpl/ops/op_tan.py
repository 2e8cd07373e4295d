import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Tan", since=7, dtypes=FLOAT)
def tan_7(x: np.ndarray) -> np.ndarray:
    """y = tan(x)"""
    return float_map(np.tan, x)
