import numpy as np

from ..dtypes import INT
from ..registry import reference_op


@reference_op("BitwiseOr", since=18, dtypes=INT)
def bitwise_or_18(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a | b (numpy broadcasting)"""
    return np.bitwise_or(a, b)
