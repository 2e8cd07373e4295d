import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._erf import erf
from ._float_math import float_map


@reference_op("Erf", since=9, dtypes=FLOAT)
def erf_9(x: np.ndarray) -> np.ndarray:
    """y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt"""
    return float_map(erf, x)
