import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._reduce import reduce_attribute_axes, reduce_input_axes, reduced_size


def _kernel(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    if reduced_size(x, axes) == 0:
        return np.log(np.sum(np.exp(x), axis=axes, keepdims=keepdims))
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or +inf) slices must not produce nan
    y = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axes)


@reference_op("ReduceLogSumExp", since=1, dtypes=NUMERIC)
def reduce_log_sum_exp_1(
    data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """y = log(Σ_axes exp(x)) = m + log(Σ exp(x - m)) (axes attribute)"""
    return reduce_attribute_axes(data, axes, keepdims, _kernel, real=True)


@reference_op("ReduceLogSumExp", since=18, dtypes=NUMERIC)
def reduce_log_sum_exp_18(
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> np.ndarray:
    """y = log(Σ_axes exp(x)) = m + log(Σ exp(x - m)) (axes input)"""
    return reduce_input_axes(data, axes, keepdims, noop_with_empty_axes, _kernel, real=True)
