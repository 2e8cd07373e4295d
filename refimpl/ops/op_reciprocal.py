import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Reciprocal", since=6, dtypes=FLOAT)
def reciprocal_6(x: np.ndarray) -> np.ndarray:
    """y = 1 / x"""
    return float_map(np.reciprocal, x)
