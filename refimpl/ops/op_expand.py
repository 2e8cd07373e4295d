import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list


@reference_op("Expand", since=8, dtypes=ALL)
def expand_8(input: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """y = input broadcast (numpy rules, both ways) with shape"""
    try:
        target = np.broadcast_shapes(input.shape, tuple(int_list(shape)))
    except ValueError:
        raise OpArgumentError(
            f"Expand cannot broadcast {list(input.shape)} with {int_list(shape)}"
        ) from None
    return np.broadcast_to(input, target).copy()
