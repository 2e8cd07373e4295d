import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._softmax import along_axis, coerced_2d, hardmax


@reference_op("Hardmax", since=1, dtypes=FLOAT)
def hardmax_1(x: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """y = one_hot(first argmax x), per row of x coerced to 2-D at axis"""
    return coerced_2d(x, axis, hardmax)


@reference_op("Hardmax", since=13, dtypes=FLOAT)
def hardmax_13(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """y = one_hot(first argmax x) along axis"""
    return along_axis(x, axis, hardmax)
