import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("PRelu", since=7, takes=("dy", "x0", "x1"), wrt=(0, 1))
def prelu_grad_7(dy: np.ndarray, x: np.ndarray, slope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dx = dy if x >= 0 else slope * dy; dslope = unbroadcast(dy * x where x < 0)"""
    g, x_ = work(dy), work(x)
    negative = x_ < 0
    dx = np.where(negative, g * work(slope), g)
    dslope = unbroadcast(np.where(negative, g * x_, 0.0), slope.shape)
    return like(dx, x), like(dslope, slope)
