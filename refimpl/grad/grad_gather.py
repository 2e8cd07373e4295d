import numpy as np

from ..ops.op_gather import gather_1
from ._index_trace import positions, scatter_add
from .contract import gradient_op, like


@gradient_op("Gather", since=1, takes=("dy", "x0", "x1"), wrt=(0,))
def gather_grad_1(
    dy: np.ndarray, data: np.ndarray, indices: np.ndarray, *, axis: int = 0
) -> tuple[np.ndarray]:
    """ddata[.., j, ..] = Σ dy[.., i, ..] over the i with indices[i] = j (repeats accumulate)"""
    source = gather_1(positions(data.shape), indices, axis=axis)
    return (like(scatter_add(dy, source, data.shape), data),)
