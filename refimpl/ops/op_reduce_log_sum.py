import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._reduce import reduce_attribute_axes, reduce_input_axes


def _kernel(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return np.log(np.sum(x, axis=axes, keepdims=keepdims))


@reference_op("ReduceLogSum", since=1, dtypes=NUMERIC)
def reduce_log_sum_1(
    data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """y = log(Σ_axes x) (axes attribute)"""
    return reduce_attribute_axes(data, axes, keepdims, _kernel, real=True)


@reference_op("ReduceLogSum", since=18, dtypes=NUMERIC)
def reduce_log_sum_18(
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> np.ndarray:
    """y = log(Σ_axes x) (axes input)"""
    return reduce_input_axes(data, axes, keepdims, noop_with_empty_axes, _kernel, real=True)
