import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("Pow", since=7, takes=("dy", "x0", "x1"), wrt=(0, 1))
def pow_grad_7(
    dy: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """dx = unbroadcast(dy * y * x^(y-1)), dy_ = unbroadcast(dy * x^y * ln x) (0 where x = 0)

    As in PyTorch autograd: the exponent's cotangent is 0 where the base is 0 and NaN where it is
    negative (ln x is undefined there).
    """
    g, x_, y_ = work(dy), work(x), work(y).astype(work(x).dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = g * y_ * np.power(x_, y_ - 1)
        log_x = np.where(x_ == 0, 0.0, np.log(np.where(x_ == 0, 1.0, x_)))
        de = g * np.power(x_, y_) * log_x
    dexp = like(unbroadcast(de, y.shape), y) if y.dtype.kind == "f" else None  # int: no slope
    return like(unbroadcast(dx, x.shape), x), dexp
