import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Cosh", since=9, dtypes=FLOAT)
def cosh_9(x: np.ndarray) -> np.ndarray:
    """y = cosh(x)"""
    return float_map(np.cosh, x)
