import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("Mul", since=7, takes=("dy", "x0", "x1"), wrt=(0, 1))
def mul_grad_7(dy: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """da = unbroadcast(dy * b), db = unbroadcast(dy * a)"""
    g, a_, b_ = work(dy), work(a), work(b)
    return like(unbroadcast(g * b_, a.shape), a), like(unbroadcast(g * a_, b.shape), b)
