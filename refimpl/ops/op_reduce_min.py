import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._reduce import extreme_kernel, highest, reduce_attribute_axes, reduce_input_axes

_kernel = extreme_kernel(np.min, highest)


@reference_op("ReduceMin", since=1, dtypes=NUMERIC | {"bool"})
def reduce_min_1(
    data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """y = min_axes x (empty set: +inf, max int or True) (axes attribute)"""
    return reduce_attribute_axes(data, axes, keepdims, _kernel)


@reference_op("ReduceMin", since=18, dtypes=NUMERIC | {"bool"})
def reduce_min_18(
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> np.ndarray:
    """y = min_axes x (empty set: +inf, max int or True) (axes input)"""
    return reduce_input_axes(data, axes, keepdims, noop_with_empty_axes, _kernel)
