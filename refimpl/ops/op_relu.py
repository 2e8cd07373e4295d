import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Relu", since=6, dtypes=NUMERIC)
def relu_6(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0)"""
    top = np.iinfo(x.dtype).max if x.dtype.kind in "iu" else np.inf
    # = np.maximum(x, 0) (NaN stays NaN), but numpy's two-bound clip loop is ~3x faster
    return np.clip(x, x.dtype.type(0), x.dtype.type(top), out=np.empty_like(x))
