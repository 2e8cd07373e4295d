import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import widen


def _gemm(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None,
    alpha: float,
    beta: float,
    trans_a: int,
    trans_b: int,
) -> np.ndarray:
    if a.ndim != 2 or b.ndim != 2:
        raise OpArgumentError(f"Gemm needs 2-D A and B, got shapes {a.shape} and {b.shape}")
    a2 = widen(a).T if trans_a else widen(a)
    b2 = widen(b).T if trans_b else widen(b)
    if a2.shape[1] != b2.shape[0]:
        raise OpArgumentError(
            f"Gemm inner dimensions differ: op(A) is {a2.shape}, op(B) is {b2.shape} "
            f"(transA={trans_a}, transB={trans_b})"
        )
    y = a2 @ b2
    if alpha != 1.0:
        y = y * (alpha if y.dtype.kind == "f" else np.float64(alpha))
        y = y.astype(a2.dtype, copy=False)
    if c is not None and beta != 0.0:
        c2 = widen(c)
        _check_c(c2, y)
        y = y + (c2 if beta == 1.0 else (c2 * beta).astype(y.dtype, copy=False))
    return y.astype(a.dtype, copy=False)


def _check_c(c: np.ndarray, y: np.ndarray) -> None:
    try:
        fits = np.broadcast_shapes(c.shape, y.shape) == y.shape
    except ValueError:
        fits = False
    if not fits:
        raise OpArgumentError(f"Gemm C of shape {c.shape} does not broadcast to {y.shape}")


@reference_op("Gemm", since=7, dtypes=NUMERIC)
def gemm_7(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    transA: int = 0,
    transB: int = 0,
) -> np.ndarray:
    """y = alpha * op(a) @ op(b) + beta * c (c required, broadcast one way to the result)"""
    if c is None:
        raise OpArgumentError("Gemm before opset 11 requires input C")
    return _gemm(a, b, c, alpha, beta, transA, transB)


@reference_op("Gemm", since=11, dtypes=NUMERIC)
def gemm_11(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    transA: int = 0,
    transB: int = 0,
) -> np.ndarray:
    """y = alpha * op(a) @ op(b) + beta * c (c optional, broadcast one way to the result)"""
    return _gemm(a, b, c, alpha, beta, transA, transB)
