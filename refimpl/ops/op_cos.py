import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Cos", since=7, dtypes=FLOAT)
def cos_7(x: np.ndarray) -> np.ndarray:
    """y = cos(x)"""
    return float_map(np.cos, x)
