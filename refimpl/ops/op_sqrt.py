import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Sqrt", since=6, dtypes=FLOAT)
def sqrt_6(x: np.ndarray) -> np.ndarray:
    """y = sqrt(x) (NaN below 0)"""
    return float_map(np.sqrt, x)
