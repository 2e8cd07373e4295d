import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Selu", since=6, dtypes=FLOAT)
def selu_6(
    x: np.ndarray, *, alpha: float = 1.6732631921768188, gamma: float = 1.0507010221481323
) -> np.ndarray:
    """y = gamma * (x if x > 0 else alpha * (e^x - 1))"""
    return float_map(lambda v: gamma * np.where(v > 0, v, alpha * np.expm1(v)), x)
