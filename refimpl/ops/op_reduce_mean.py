import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._reduce import reduce_attribute_axes, reduce_input_axes, reduced_size


def _kernel(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    n = reduced_size(x, axes)
    if x.dtype.kind in "iu":
        s = np.sum(x, axis=axes, keepdims=keepdims, dtype=np.int64)
        return np.sign(s) * (np.abs(s) // max(n, 1))
    return np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype) / x.dtype.type(n)


@reference_op("ReduceMean", since=1, dtypes=NUMERIC)
def reduce_mean_1(
    data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """y = Σ_axes x / n (integers truncate) (axes attribute)"""
    return reduce_attribute_axes(data, axes, keepdims, _kernel)


@reference_op("ReduceMean", since=18, dtypes=NUMERIC)
def reduce_mean_18(
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> np.ndarray:
    """y = Σ_axes x / n (integers truncate) (axes input)"""
    return reduce_input_axes(data, axes, keepdims, noop_with_empty_axes, _kernel)
