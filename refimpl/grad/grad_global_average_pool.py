import numpy as np

from .contract import gradient_op, like, work


@gradient_op("GlobalAveragePool", since=1, takes=("dy", "x0"), wrt=(0,))
def global_average_pool_grad_1(dy: np.ndarray, x: np.ndarray) -> tuple[np.ndarray]:
    """dx[n, c, ...] = dy[n, c] / (number of spatial elements)"""
    count = max(int(np.prod(x.shape[2:], dtype=np.int64)), 1)
    return (like(np.broadcast_to(work(dy) / count, x.shape), x),)
