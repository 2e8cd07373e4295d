import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._quant import int_matmul, shifted


def _row_zero_point(zp: np.ndarray | None, a: np.ndarray) -> np.ndarray | None:
    """a_zero_point: a scalar, or one per row of A (shaped to broadcast over its last axis)."""
    if zp is None or zp.size == 1:
        return None if zp is None else zp.reshape(())
    if zp.ndim != 1 or a.ndim < 2 or zp.shape[0] != a.shape[-2]:
        raise OpArgumentError(f"a_zero_point {list(zp.shape)} must be scalar or 1-D per row of A")
    return zp.reshape(-1, 1)


@reference_op("MatMulInteger", since=10, dtypes={"int8", "uint8"})
def matmul_integer_10(
    a: np.ndarray,
    b: np.ndarray,
    a_zero_point: np.ndarray | None = None,
    b_zero_point: np.ndarray | None = None,
) -> np.ndarray:
    """y = (a - a_zero_point) @ (b - b_zero_point), accumulated exactly in int32"""
    a_zp = _row_zero_point(a_zero_point, a)
    if b_zero_point is not None and b_zero_point.size > 1 and b_zero_point.shape[-1] != b.shape[-1]:
        raise OpArgumentError(f"b_zero_point {list(b_zero_point.shape)} must be per column of B")
    return int_matmul(shifted(a, a_zp), shifted(b, b_zero_point))
