import numpy as np

from ..ops._reduce import axes_from_attribute, axes_from_input
from ._reduce_grad import spread
from .contract import gradient_op


@gradient_op("ReduceSum", since=1, takes=("dy", "x0"), wrt=(0,))
def reduce_sum_grad_1(
    dy: np.ndarray, data: np.ndarray, *, axes: list[int] | None = None, keepdims: int = 1
) -> tuple[np.ndarray]:
    """ddata = dy broadcast over the reduced axes (axes attribute)"""
    return (spread(dy, data, axes_from_attribute(data, axes), 1.0),)


@gradient_op("ReduceSum", since=13, takes=("dy", "x0", "x1"), wrt=(0,))
def reduce_sum_grad_13(
    dy: np.ndarray,
    data: np.ndarray,
    axes: np.ndarray | None = None,
    *,
    keepdims: int = 1,
    noop_with_empty_axes: int = 0,
) -> tuple[np.ndarray]:
    """ddata = dy broadcast over the reduced axes (axes input)"""
    return (spread(dy, data, axes_from_input(data, axes, noop_with_empty_axes), 1.0),)
