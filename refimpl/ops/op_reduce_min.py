import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._rd_reduce import axes_from_attribute, axes_from_input, highest, reduce, reduced_size


def _kernel(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    if reduced_size(x, axes) == 0:
        return np.min(x, axis=axes, keepdims=keepdims, initial=highest(x.dtype))
    return np.min(x, axis=axes, keepdims=keepdims)


@reference_op("ReduceMin", since=1, dtypes=NUMERIC | {"bool"})
def reduce_min_1(
    data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """y = min_axes x (empty set: +inf, max int or True) (axes attribute)"""
    return reduce(data, axes_from_attribute(data, axes), keepdims, _kernel)


@reference_op("ReduceMin", since=18, dtypes=NUMERIC | {"bool"})
def reduce_min_18(
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> np.ndarray:
    """y = min_axes x (empty set: +inf, max int or True) (axes input)"""
    return reduce(data, axes_from_input(data, axes, noop_with_empty_axes), keepdims, _kernel)
