import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("HardSwish", since=14, dtypes=FLOAT)
def hard_swish_14(x: np.ndarray) -> np.ndarray:
    """y = x * max(0, min(1, x/6 + 1/2))"""
    return float_map(lambda v: v * np.clip(v / 6.0 + 0.5, 0.0, 1.0), x)
