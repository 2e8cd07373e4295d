import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("LeakyRelu", since=6, dtypes=FLOAT)
def leaky_relu_6(x: np.ndarray, *, alpha: float = 0.01) -> np.ndarray:
    """y = x if x >= 0 else alpha * x"""
    return float_map(lambda v: np.where(v < 0, alpha * v, v), x)
