import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("ThresholdedRelu", since=10, dtypes=FLOAT)
def thresholded_relu_10(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """y = x if x > alpha else 0"""
    return float_map(lambda v: np.where(v > alpha, v, 0.0), x)
