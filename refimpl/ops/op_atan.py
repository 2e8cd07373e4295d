import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Atan", since=7, dtypes=FLOAT)
def atan_7(x: np.ndarray) -> np.ndarray:
    """y = arctan(x)"""
    return float_map(np.arctan, x)
