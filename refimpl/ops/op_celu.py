import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Celu", since=12, dtypes=FLOAT)
def celu_12(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """y = max(0, x) + min(0, alpha * (e^(x/alpha) - 1))"""
    if alpha == 0:
        raise OpArgumentError("Celu alpha must not be 0")
    return float_map(lambda v: np.maximum(v, 0) + np.minimum(0, alpha * np.expm1(v / alpha)), x)
