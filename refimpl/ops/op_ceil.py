import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Ceil", since=6, dtypes=FLOAT)
def ceil_6(x: np.ndarray) -> np.ndarray:
    """y = ceil(x)"""
    return float_map(np.ceil, x)
