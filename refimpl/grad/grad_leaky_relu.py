import numpy as np

from .contract import gradient_op, like, work


@gradient_op("LeakyRelu", since=6, takes=("dy", "x0"), wrt=(0,))
def leaky_relu_grad_6(dy: np.ndarray, x: np.ndarray, *, alpha: float = 0.01) -> tuple[np.ndarray]:
    """dx = dy if x >= 0 else alpha * dy"""
    g = work(dy)
    return (like(np.where(work(x) >= 0, g, g * g.dtype.type(alpha)), x),)
