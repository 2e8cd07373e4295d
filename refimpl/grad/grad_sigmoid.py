import numpy as np

from .contract import gradient_op, like, work


@gradient_op("Sigmoid", since=6, takes=("dy", "y0"), wrt=(0,))
def sigmoid_grad_6(dy: np.ndarray, y: np.ndarray) -> tuple[np.ndarray]:
    """dx = dy * y * (1 - y), y = sigmoid(x)"""
    g = work(dy)
    dx = g * work(y) * (1 - work(y))
    return (like(dx, y),)
