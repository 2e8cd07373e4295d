import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Tanh", since=6, dtypes=FLOAT)
def tanh_6(x: np.ndarray) -> np.ndarray:
    """y = tanh(x)"""
    return float_map(np.tanh, x)
