import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Sinh", since=9, dtypes=FLOAT)
def sinh_9(x: np.ndarray) -> np.ndarray:
    """y = sinh(x)"""
    return float_map(np.sinh, x)
