import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._float_math import float_map


@reference_op("Log", since=6, dtypes=FLOAT)
def log_6(x: np.ndarray) -> np.ndarray:
    """y = ln(x) (-inf at 0, NaN below)"""
    return float_map(np.log, x)
