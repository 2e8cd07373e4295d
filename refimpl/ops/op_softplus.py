import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Softplus", since=1, dtypes=FLOAT)
def softplus_1(x: np.ndarray) -> np.ndarray:
    """y = ln(1 + e^x)"""
    return float_map(lambda v: np.logaddexp(0.0, v), x)
