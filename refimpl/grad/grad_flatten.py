import numpy as np

from .contract import gradient_op


@gradient_op("Flatten", since=1, takes=("dy", "x0"), wrt=(0,))
def flatten_grad_1(dy: np.ndarray, input: np.ndarray, *, axis: int = 1) -> tuple[np.ndarray]:
    """dinput = dy reshaped to input's shape"""
    return (dy.reshape(input.shape),)
