import numpy as np

from .contract import gradient_op


@gradient_op("Reshape", since=5, takes=("dy", "x0"), wrt=(0,))
def reshape_grad_5(dy: np.ndarray, data: np.ndarray, *, allowzero: int = 0) -> tuple[np.ndarray]:
    """ddata = dy reshaped to data's shape (the shape input gets no cotangent)"""
    return (dy.reshape(data.shape),)
