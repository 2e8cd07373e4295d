import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._variadic import fold


@reference_op("Max", since=6, dtypes=NUMERIC)
def max_6(*data: np.ndarray) -> np.ndarray:
    """y = element-wise maximum of all inputs (NaN propagates); equal shapes only"""
    return fold("Max", np.maximum, data, broadcast=False)


@reference_op("Max", since=8, dtypes=NUMERIC)
def max_8(*data: np.ndarray) -> np.ndarray:
    """y = element-wise maximum of all inputs (NaN propagates); numpy broadcasting"""
    return fold("Max", np.maximum, data, broadcast=True)
