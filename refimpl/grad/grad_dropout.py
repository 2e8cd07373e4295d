import numpy as np

from .contract import gradient_op, like, work


@gradient_op("Dropout", since=7, takes=("dy",), wrt=(0,))
def dropout_grad_7(dy: np.ndarray, *, ratio: float = 0.5) -> tuple[np.ndarray]:
    """dx = dy (inference only before opset 12)"""
    return (dy.copy(),)


@gradient_op("Dropout", since=12, takes=("dy", "y1", "x1", "x2"), wrt=(0,))
def dropout_grad_12(
    dy: np.ndarray,
    mask: np.ndarray,
    ratio: np.ndarray | None = None,
    training_mode: np.ndarray | None = None,
    *,
    seed: int | None = None,
) -> tuple[np.ndarray]:
    """dx = dy * mask / (1 - ratio) in training mode (the forward's mask), else dx = dy"""
    p = 0.5 if ratio is None else float(ratio)
    if training_mode is None or not bool(training_mode) or p == 0.0:
        return (dy.copy(),)
    g = work(dy)
    return (like(g * mask * (1 / (1 - p)), dy),)
