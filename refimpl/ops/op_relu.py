import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Relu", since=6, dtypes=NUMERIC)
def relu_6(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0)"""
    return np.maximum(x, x.dtype.type(0))
