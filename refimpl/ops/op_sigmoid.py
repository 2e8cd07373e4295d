import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Sigmoid", since=6, dtypes=FLOAT)
def sigmoid_6(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + e^-x)"""
    return float_map(lambda v: 1.0 / (1.0 + np.exp(-v)), x)
