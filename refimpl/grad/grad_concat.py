import numpy as np

from .contract import VARIADIC, gradient_op


@gradient_op("Concat", since=4, takes=("dy", "xs"), wrt=VARIADIC)
def concat_grad_4(dy: np.ndarray, *inputs: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """dinput_i = the slice of dy along axis where input i was placed"""
    ax = axis % dy.ndim
    cuts = np.cumsum([x.shape[ax] for x in inputs])[:-1]
    return tuple(np.split(dy, cuts, axis=ax))
