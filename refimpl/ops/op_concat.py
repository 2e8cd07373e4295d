import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis


@reference_op("Concat", since=4, dtypes=ALL)
def concat_4(*inputs: np.ndarray, axis: int) -> np.ndarray:
    """y = the inputs joined along axis"""
    if not inputs:
        raise OpArgumentError("Concat needs at least one input")
    axis = norm_axis(axis, inputs[0].ndim)
    return np.concatenate(inputs, axis=axis)
