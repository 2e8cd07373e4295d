import numpy as np

from ..ops._softmax import check_axis
from .contract import gradient_op, like, work
from .grad_softmax import _rows


@gradient_op("LogSoftmax", since=1, takes=("dy", "y0"), wrt=(0,))
def log_softmax_grad_1(dy: np.ndarray, y: np.ndarray, *, axis: int = 1) -> tuple[np.ndarray]:
    """dx = dy - exp(y) * Σ dy, per row of the 2-D coercion at axis"""
    (dx,) = log_softmax_grad_13(_rows(dy, axis), _rows(y, axis), axis=1)
    return (dx.reshape(y.shape),)


@gradient_op("LogSoftmax", since=13, takes=("dy", "y0"), wrt=(0,))
def log_softmax_grad_13(dy: np.ndarray, y: np.ndarray, *, axis: int = -1) -> tuple[np.ndarray]:
    """dx = dy - exp(y) * Σ_axis dy, y = log_softmax(x)"""
    ax = check_axis(y, axis)
    g = work(dy)
    return (like(g - np.exp(work(y)) * np.sum(g, axis=ax, keepdims=True), y),)
