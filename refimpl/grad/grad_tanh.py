import numpy as np

from .contract import gradient_op, like, work


@gradient_op("Tanh", since=6, takes=("dy", "y0"), wrt=(0,))
def tanh_grad_6(dy: np.ndarray, y: np.ndarray) -> tuple[np.ndarray]:
    """dx = dy * (1 - y^2), y = tanh(x)"""
    g = work(dy)
    dx = g * (1 - work(y) * work(y))
    return (like(dx, y),)
