import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Softsign", since=1, dtypes=FLOAT)
def softsign_1(x: np.ndarray) -> np.ndarray:
    """y = x / (1 + |x|)"""
    return float_map(lambda v: v / (1.0 + np.abs(v)), x)
