import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("Div", since=7, takes=("dy", "x0", "x1"), wrt=(0, 1))
def div_grad_7(dy: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """da = unbroadcast(dy / b), db = -unbroadcast(dy * a / b^2)"""
    g, a_, b_ = work(dy), work(a), work(b)
    da = unbroadcast(g / b_, a.shape)
    db = -unbroadcast(g * a_ / (b_ * b_), b.shape)
    return like(da, a), like(db, b)
