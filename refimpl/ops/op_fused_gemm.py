import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._fused_activation import apply_activation
from .op_gemm import gemm_11


@reference_op("FusedGemm", since=1, domain="gossamer", dtypes=FLOAT)
def fused_gemm_1(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None = None,
    slope: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    transA: int = 0,
    transB: int = 0,
    activation: str = "",
    activation_params: list[float] | None = None,
) -> np.ndarray:
    """y = activation(alpha * op(a) @ op(b) + beta * c; activation_params, slope)"""
    y = gemm_11(a, b, c, alpha=alpha, beta=beta, transA=transA, transB=transB)
    return apply_activation(y, activation, activation_params, slope)
