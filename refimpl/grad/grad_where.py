import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("Where", since=9, takes=("dy", "x0", "x1", "x2"), wrt=(1, 2))
def where_grad_9(
    dy: np.ndarray, condition: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[None, np.ndarray, np.ndarray]:
    """dx = unbroadcast(dy where condition), dy_ = unbroadcast(dy where not condition)"""
    g = work(dy)
    zero = np.zeros((), g.dtype)
    dx = unbroadcast(np.where(condition, g, zero), x.shape)
    dy_ = unbroadcast(np.where(condition, zero, g), y.shape)
    return None, like(dx, x), like(dy_, y)
