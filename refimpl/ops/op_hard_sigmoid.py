import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("HardSigmoid", since=6, dtypes=FLOAT)
def hard_sigmoid_6(
    x: np.ndarray, *, alpha: float = 0.20000000298023224, beta: float = 0.5
) -> np.ndarray:
    """y = max(0, min(1, alpha * x + beta))"""
    return float_map(lambda v: np.clip(alpha * v + beta, 0.0, 1.0), x)
