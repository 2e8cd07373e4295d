import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from .op_hard_swish import hard_swish_14


@reference_op("HardSwish", since=1, domain="gossamer", dtypes=FLOAT)
def hard_swish_1(x: np.ndarray) -> np.ndarray:
    """y = x * max(0, min(1, x/6 + 1/2)), as ai.onnx HardSwish-14 (for models of older opsets)"""
    return hard_swish_14(x)
