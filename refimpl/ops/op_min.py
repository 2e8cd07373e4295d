import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._variadic import fold


@reference_op("Min", since=6, dtypes=NUMERIC)
def min_6(*data: np.ndarray) -> np.ndarray:
    """y = element-wise minimum of all inputs (NaN propagates); equal shapes only"""
    return fold("Min", np.minimum, data, broadcast=False)


@reference_op("Min", since=8, dtypes=NUMERIC)
def min_8(*data: np.ndarray) -> np.ndarray:
    """y = element-wise minimum of all inputs (NaN propagates); numpy broadcasting"""
    return fold("Min", np.minimum, data, broadcast=True)
