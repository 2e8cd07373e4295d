import numpy as np

from ..dtypes import ALL, NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._onnx_types import dtype_from_code

_OUTPUT_TYPES = NUMERIC | {"bool"}  # EyeLike's T2: numbers and bool


@reference_op("EyeLike", since=9, dtypes=ALL)
def eye_like_9(input: np.ndarray, *, dtype: int | None = None, k: int = 0) -> np.ndarray:
    """y[i, j] = 1 if j - i == k else 0, shaped like the 2-D input (dtype attr or input's)"""
    if input.ndim != 2:
        raise OpArgumentError(f"EyeLike needs a 2-D input, got rank {input.ndim}")
    out_dtype = input.dtype if dtype is None else dtype_from_code(dtype, _OUTPUT_TYPES)
    return np.eye(input.shape[0], input.shape[1], k=k).astype(out_dtype)
