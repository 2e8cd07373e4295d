import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Floor", since=6, dtypes=FLOAT)
def floor_6(x: np.ndarray) -> np.ndarray:
    """y = floor(x)"""
    return float_map(np.floor, x)
