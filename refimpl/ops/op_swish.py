import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Swish", since=24, dtypes=FLOAT)
def swish_24(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """y = x * sigmoid(alpha * x)"""
    return float_map(lambda v: v / (1.0 + np.exp(-alpha * v)), x)
