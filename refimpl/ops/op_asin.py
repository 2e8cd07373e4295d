import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Asin", since=7, dtypes=FLOAT)
def asin_7(x: np.ndarray) -> np.ndarray:
    """y = arcsin(x)"""
    return float_map(np.arcsin, x)
