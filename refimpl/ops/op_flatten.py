import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("Flatten", since=1, dtypes=ALL)
def flatten_1(input: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """y = input as 2-D (prod(shape[:axis]), prod(shape[axis:]))"""
    if not -input.ndim <= axis <= input.ndim:
        raise OpArgumentError(f"Flatten axis {axis} is out of range for rank {input.ndim}")
    axis = axis + input.ndim if axis < 0 else axis
    outer = int(np.prod(input.shape[:axis], dtype=np.int64))
    return input.reshape(outer, int(np.prod(input.shape[axis:], dtype=np.int64)))
