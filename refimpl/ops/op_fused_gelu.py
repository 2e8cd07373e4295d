import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from .op_gelu import gelu_20


@reference_op("Gelu", since=1, domain="gossamer", dtypes=FLOAT)
def gelu_1(x: np.ndarray, *, approximate: str = "none") -> np.ndarray:
    """y = x/2 (1 + erf(x/sqrt 2)): ai.onnx Gelu-20, for models whose opset predates it"""
    return gelu_20(x, approximate=approximate)
