import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Acos", since=7, dtypes=FLOAT)
def acos_7(x: np.ndarray) -> np.ndarray:
    """y = arccos(x)"""
    return float_map(np.arccos, x)
