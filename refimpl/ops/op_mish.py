import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Mish", since=18, dtypes=FLOAT)
def mish_18(x: np.ndarray) -> np.ndarray:
    """y = x * tanh(ln(1 + e^x))"""
    return float_map(lambda v: v * np.tanh(np.logaddexp(0.0, v)), x)
