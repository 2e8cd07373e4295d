import numpy as np

from .contract import gradient_op, like, work


@gradient_op("HardSwish", since=14, takes=("dy", "x0"), wrt=(0,))
def hard_swish_grad_14(dy: np.ndarray, x: np.ndarray) -> tuple[np.ndarray]:
    """dx = dy * (0 if x < -3, 1 if x > 3, else (2x + 3) / 6)"""
    g = work(dy)
    dx = g * np.where(work(x) < -3, 0.0, np.where(work(x) > 3, 1.0, (2 * work(x) + 3) / 6))
    return (like(dx, x),)
