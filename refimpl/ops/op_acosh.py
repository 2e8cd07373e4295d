import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Acosh", since=9, dtypes=FLOAT)
def acosh_9(x: np.ndarray) -> np.ndarray:
    """y = arccosh(x)"""
    return float_map(np.arccosh, x)
