import math

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._erf import erf
from ._float_math import float_map


@reference_op("Gelu", since=20, dtypes=FLOAT)
def gelu_20(x: np.ndarray, *, approximate: str = "none") -> np.ndarray:
    """y = x/2 (1 + erf(x/sqrt 2)); 'tanh': x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"""
    if approximate == "none":
        return float_map(lambda v: 0.5 * v * (1.0 + erf(v / math.sqrt(2.0))), x)
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        return float_map(lambda v: 0.5 * v * (1.0 + np.tanh(k * (v + 0.044715 * v**3))), x)
    raise OpArgumentError(f"Gelu approximate must be 'none' or 'tanh', got {approximate!r}")
