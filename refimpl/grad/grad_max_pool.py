import numpy as np

from ..ops._pooling import max_pool_indices
from ..ops._window import window
from ._index_trace import scatter_add
from .contract import gradient_op, like


@gradient_op("MaxPool", since=1, takes=("dy", "x0"), wrt=(0,))
def max_pool_grad_1(
    dy: np.ndarray,
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    storage_order: int = 0,
    strides: list[int] | None = None,
    num_outputs: int = 1,
) -> tuple[np.ndarray]:
    """dx[p] = Σ dy over the windows whose (first, as the forward picks) maximum is x[p]"""
    win = window(
        x.shape[2:],
        kernel_shape,
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
    )
    source = max_pool_indices(x, win)  # storage order 0: plain flat positions
    return (like(scatter_add(dy, source, x.shape), x),)
