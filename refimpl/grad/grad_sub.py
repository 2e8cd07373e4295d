import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("Sub", since=7, takes=("dy", "x0", "x1"), wrt=(0, 1))
def sub_grad_7(dy: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """da = unbroadcast(dy), db = -unbroadcast(dy)"""
    g = work(dy)
    return like(unbroadcast(g, a.shape), a), like(-unbroadcast(g, b.shape), b)
