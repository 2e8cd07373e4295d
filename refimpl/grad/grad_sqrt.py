import numpy as np

from .contract import gradient_op, like, work


@gradient_op("Sqrt", since=6, takes=("dy", "y0"), wrt=(0,))
def sqrt_grad_6(dy: np.ndarray, y: np.ndarray) -> tuple[np.ndarray]:
    """dx = dy / (2 y), y = sqrt(x)"""
    g = work(dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = g / (2 * work(y))
    return (like(dx, y),)
