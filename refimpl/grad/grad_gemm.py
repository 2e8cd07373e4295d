import numpy as np

from .contract import gradient_op, like, unbroadcast, work


@gradient_op("Gemm", since=7, takes=("dy", "x0", "x1", "x2"), wrt=(0, 1, 2))
def gemm_grad_7(
    dy: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    transA: int = 0,
    transB: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """d op(a) = alpha dy @ op(b)^T, d op(b) = alpha op(a)^T @ dy, dc = unbroadcast(beta dy)"""
    g = work(dy)
    a2 = work(a).T if transA else work(a)
    b2 = work(b).T if transB else work(b)
    da2 = alpha * (g @ b2.T)
    db2 = alpha * (a2.T @ g)
    da = da2.T if transA else da2
    db = db2.T if transB else db2
    dc = None if c is None else like(unbroadcast(beta * g, c.shape), c)
    return like(da, a), like(db, b), dc
