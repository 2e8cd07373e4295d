import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Exp", since=6, dtypes=FLOAT)
def exp_6(x: np.ndarray) -> np.ndarray:
    """y = e^x"""
    return float_map(np.exp, x)
