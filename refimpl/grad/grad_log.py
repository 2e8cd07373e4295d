import numpy as np

from .contract import gradient_op, like, work


@gradient_op("Log", since=6, takes=("dy", "x0"), wrt=(0,))
def log_grad_6(dy: np.ndarray, x: np.ndarray) -> tuple[np.ndarray]:
    """dx = dy / x"""
    g = work(dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = g / work(x)
    return (like(dx, x),)
