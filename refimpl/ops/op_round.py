import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Round", since=11, dtypes=FLOAT)
def round_11(x: np.ndarray) -> np.ndarray:
    """y = x rounded to the nearest integer, halves to even"""
    return float_map(np.rint, x)
