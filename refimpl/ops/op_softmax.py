import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._softmax import along_axis, coerced_2d, softmax


@reference_op("Softmax", since=1, dtypes=FLOAT)
def softmax_1(x: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """y = exp(x) / Σ exp(x), per row of x coerced to 2-D at axis"""
    return coerced_2d(x, axis, softmax)


@reference_op("Softmax", since=13, dtypes=FLOAT)
def softmax_13(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """y = exp(x) / Σ exp(x) along axis"""
    return along_axis(x, axis, softmax)
