import numpy as np

from ..dtypes import INT
from ..registry import reference_op


@reference_op("BitwiseNot", since=18, dtypes=INT)
def bitwise_not_18(x: np.ndarray) -> np.ndarray:
    """y = ~x (every bit flipped)"""
    return np.invert(x)
