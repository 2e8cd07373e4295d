import numpy as np

from ..ops._softmax import check_axis
from .contract import gradient_op, like, work


def _rows(t: np.ndarray, axis: int) -> np.ndarray:
    """t as [prod(shape[:axis]), prod(shape[axis:])]: the rows opsets < 13 normalise."""
    axis = axis + t.ndim if axis < 0 else axis
    return t.reshape(int(np.prod(t.shape[:axis], dtype=np.int64)), -1)


@gradient_op("Softmax", since=1, takes=("dy", "y0"), wrt=(0,))
def softmax_grad_1(dy: np.ndarray, y: np.ndarray, *, axis: int = 1) -> tuple[np.ndarray]:
    """dx = y * (dy - Σ dy * y), per row of the 2-D coercion at axis"""
    (dx,) = softmax_grad_13(_rows(dy, axis), _rows(y, axis), axis=1)
    return (dx.reshape(y.shape),)


@gradient_op("Softmax", since=13, takes=("dy", "y0"), wrt=(0,))
def softmax_grad_13(dy: np.ndarray, y: np.ndarray, *, axis: int = -1) -> tuple[np.ndarray]:
    """dx = y * (dy - Σ_axis dy * y)"""
    ax = check_axis(y, axis)
    g, y_ = work(dy), work(y)
    return (like(y_ * (g - np.sum(g * y_, axis=ax, keepdims=True)), y),)
