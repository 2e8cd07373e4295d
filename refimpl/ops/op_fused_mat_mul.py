import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._fused_activation import apply_activation
from .op_add import add_7
from .op_mat_mul import mat_mul_1


@reference_op("FusedMatMul", since=1, domain="gossamer", dtypes=FLOAT)
def fused_mat_mul_1(
    a: np.ndarray,
    b: np.ndarray,
    bias: np.ndarray | None = None,
    slope: np.ndarray | None = None,
    residual: np.ndarray | None = None,
    *,
    activation: str = "",
    activation_params: list[float] | None = None,
) -> np.ndarray:
    """y = activation(a @ b + bias + residual; activation_params, slope): MatMul, then Add if bias
    is given, then Add if residual (the product's shape, no broadcasting) is given"""
    y = mat_mul_1(a, b)
    if bias is not None:
        y = add_7(y, bias)
    if residual is not None:
        if residual.shape != y.shape:
            raise OpArgumentError(
                f"FusedMatMul residual has shape {list(residual.shape)}, the product "
                f"{list(y.shape)} (the residual is added without broadcasting)"
            )
        y = add_7(y, residual)
    return apply_activation(y, activation, activation_params, slope)
