import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Elu", since=6, dtypes=FLOAT)
def elu_6(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """y = x if x >= 0 else alpha * (e^x - 1)"""
    return float_map(lambda v: np.where(v < 0, alpha * np.expm1(v), v), x)
