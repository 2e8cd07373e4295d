import numpy as np

from ..ops.op_slice import slice_1, slice_10
from ._index_trace import positions, scatter_add
from .contract import gradient_op, like


@gradient_op("Slice", since=10, takes=("dy", "x0", "x1", "x2", "x3", "x4"), wrt=(0,))
def slice_grad_10(
    dy: np.ndarray,
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    axes: np.ndarray | None = None,
    steps: np.ndarray | None = None,
) -> tuple[np.ndarray]:
    """ddata = dy scattered back to the positions the slice read, 0 elsewhere"""
    source = slice_10(positions(data.shape), starts, ends, axes, steps)
    return (like(scatter_add(dy, source, data.shape), data),)


@gradient_op("Slice", since=1, takes=("dy", "x0"), wrt=(0,))
def slice_grad_1(
    dy: np.ndarray,
    data: np.ndarray,
    *,
    starts: list[int],
    ends: list[int],
    axes: list[int] | None = None,
) -> tuple[np.ndarray]:
    """ddata = dy scattered back to the positions the slice (attribute bounds) read, 0 elsewhere"""
    source = slice_1(positions(data.shape), starts=starts, ends=ends, axes=axes)
    return (like(scatter_add(dy, source, data.shape), data),)
