import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._reduce import extreme_kernel, lowest, reduce_attribute_axes, reduce_input_axes

_kernel = extreme_kernel(np.max, lowest)


@reference_op("ReduceMax", since=1, dtypes=NUMERIC | {"bool"})
def reduce_max_1(
    data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """y = max_axes x (empty set: -inf, min int or False) (axes attribute)"""
    return reduce_attribute_axes(data, axes, keepdims, _kernel)


@reference_op("ReduceMax", since=18, dtypes=NUMERIC | {"bool"})
def reduce_max_18(
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> np.ndarray:
    """y = max_axes x (empty set: -inf, min int or False) (axes input)"""
    return reduce_input_axes(data, axes, keepdims, noop_with_empty_axes, _kernel)
