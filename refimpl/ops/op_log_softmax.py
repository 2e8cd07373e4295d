import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._softmax import along_axis, coerced_2d, log_softmax


@reference_op("LogSoftmax", since=1, dtypes=FLOAT)
def log_softmax_1(x: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """y = x - log(Σ exp(x)), per row of x coerced to 2-D at axis"""
    return coerced_2d(x, axis, log_softmax)


@reference_op("LogSoftmax", since=13, dtypes=FLOAT)
def log_softmax_13(x: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """y = x - log(Σ exp(x)) along axis"""
    return along_axis(x, axis, log_softmax)
