import numpy as np

from ..dtypes import INT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list


@reference_op("ConstantOfShape", since=9, dtypes=INT)
def constant_of_shape_9(input: np.ndarray, *, value: np.ndarray | None = None) -> np.ndarray:
    """y = a tensor of shape `input` filled with value (default float32 0)"""
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value)
    if fill.size != 1:
        raise OpArgumentError(f"ConstantOfShape value must hold one element, got {fill.size}")
    shape = int_list(input)
    if any(d < 0 for d in shape):
        raise OpArgumentError(f"ConstantOfShape shape {shape} has a negative dimension")
    return np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)
