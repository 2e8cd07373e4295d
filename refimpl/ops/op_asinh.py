import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Asinh", since=9, dtypes=FLOAT)
def asinh_9(x: np.ndarray) -> np.ndarray:
    """y = arcsinh(x)"""
    return float_map(np.arcsinh, x)
