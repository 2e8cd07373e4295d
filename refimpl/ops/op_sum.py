import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._variadic import fold


@reference_op("Sum", since=6, dtypes=FLOAT)
def sum_6(*data: np.ndarray) -> np.ndarray:
    """y = sum of all inputs; equal shapes only"""
    return fold("Sum", np.add, data, broadcast=False)


@reference_op("Sum", since=8, dtypes=FLOAT)
def sum_8(*data: np.ndarray) -> np.ndarray:
    """y = sum of all inputs; numpy broadcasting"""
    return fold("Sum", np.add, data, broadcast=True)
