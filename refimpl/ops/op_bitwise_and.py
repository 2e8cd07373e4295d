import numpy as np

from ..dtypes import INT
from ..registry import reference_op


@reference_op("BitwiseAnd", since=18, dtypes=INT)
def bitwise_and_18(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a & b (numpy broadcasting)"""
    return np.bitwise_and(a, b)
