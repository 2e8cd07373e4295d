import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._fused_activation import apply_activation


@reference_op("Swish", since=1, domain="gossamer", dtypes=FLOAT)
def swish_1(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """y = x * Sigmoid(alpha * x), computed as the Sigmoid and Mul reference ops compute it"""
    return apply_activation(x, "Swish", [alpha], None)
