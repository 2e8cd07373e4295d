import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Sin", since=7, dtypes=FLOAT)
def sin_7(x: np.ndarray) -> np.ndarray:
    """y = sin(x)"""
    return float_map(np.sin, x)
