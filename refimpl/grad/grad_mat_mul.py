import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("MatMul", since=1, takes=("dy", "x0", "x1"), wrt=(0, 1))
def mat_mul_grad_1(dy: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """da = unbroadcast(dy @ b^T), db = unbroadcast(a^T @ dy) over the batch axes (1-D operands
    promoted as the forward promotes them)"""
    a2 = work(a) if a.ndim > 1 else work(a)[None, :]
    b2 = work(b) if b.ndim > 1 else work(b)[:, None]
    g = work(dy).reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (
        a2.shape[-2], b2.shape[-1]))  # fmt: skip
    da = unbroadcast(np.matmul(g, np.swapaxes(b2, -1, -2)), a2.shape)
    db = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g), b2.shape)
    return like(da.reshape(a.shape), a), like(db.reshape(b.shape), b)
