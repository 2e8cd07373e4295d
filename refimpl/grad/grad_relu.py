import numpy as np

from .contract import gradient_op, like, work


@gradient_op("Relu", since=6, takes=("dy", "x0"), wrt=(0,))
def relu_grad_6(dy: np.ndarray, x: np.ndarray) -> tuple[np.ndarray]:
    """dx = dy where x > 0 else 0"""
    g = work(dy)
    dx = g * (work(x) > 0)
    return (like(dx, x),)
