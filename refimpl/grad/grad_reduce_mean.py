import numpy as np

from ..ops._reduce import axes_from_attribute, axes_from_input, reduced_size
from ._reduce_grad import spread
from .contract import gradient_op


@gradient_op("ReduceMean", since=1, takes=("dy", "x0"), wrt=(0,))
def reduce_mean_grad_1(
    dy: np.ndarray, data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> tuple[np.ndarray]:
    """ddata = dy / n broadcast over the n reduced elements (axes attribute)"""
    ax = axes_from_attribute(data, axes)
    return (spread(dy, data, ax, 1.0 / max(reduced_size(data, ax), 1)),)


@gradient_op("ReduceMean", since=18, takes=("dy", "x0", "x1"), wrt=(0,))
def reduce_mean_grad_18(
    dy: np.ndarray,
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> tuple[np.ndarray]:
    """ddata = dy / n broadcast over the n reduced elements (axes input)"""
    ax = axes_from_input(data, axes, noop_with_empty_axes)
    return (spread(dy, data, ax, 1.0 / max(reduced_size(data, ax), 1)),)
