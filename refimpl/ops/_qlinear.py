"""Per-tensor float32 requantisation shared by the com.microsoft QLinear* element-wise and pooling
ops, written as the exact sequence of float32 operations that onnxruntime's x86 kernels perform.

Every step is one IEEE float32 operation (no fused multiply-add), so a SIMD kernel reproduces the
result bit for bit. Rounding is half to even, saturation clips to the output type. Where the
zero point is added before rounding (QLinearAdd, QLinearMul) it is part of the rounded value,
as in onnxruntime; elsewhere y = rint(v / scale) + zero_point, as QuantizeLinear defines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import OpArgumentError
from ._quant import int_range

F32 = np.float32


def scalar(param: np.ndarray | None, name: str, default: float = 0) -> np.ndarray:
    """A per-tensor parameter (a scalar or a 1-element tensor) as a 0-d array; absent = default."""
    if param is None:
        return np.asarray(default)
    if param.size != 1:
        raise OpArgumentError(f"{name} must be a scalar (per tensor), got {list(param.shape)}")
    return param.reshape(())


def zero_point_of(zp: np.ndarray | None, x: np.ndarray, name: str) -> int:
    """An optional per-tensor zero point of x's type as a Python int (absent = 0)."""
    if zp is not None and zp.dtype != x.dtype:
        raise OpArgumentError(f"{name} has dtype {zp.dtype}, expected {x.dtype}")
    return int(scalar(zp, name))


def dequantize_f32(x: np.ndarray, scale: np.ndarray, zero_point: int) -> np.ndarray:
    """float32(scale * float32(x - zero_point)), exact integer difference."""
    return F32(scale) * (x.astype(np.int32) - zero_point).astype(F32)


def quantize_f32(v: np.ndarray, scale: np.ndarray, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """saturate(rint(float32(v / scale)) + zero_point) in dtype (MlasQuantizeLinear)."""
    low, high = int_range(dtype)
    q = np.rint(np.asarray(v, F32) / F32(scale)).astype(np.float64) + zero_point
    return np.clip(np.nan_to_num(q), low, high).astype(dtype)


def round_biased(v: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """saturate(rint(v)) in dtype, for a float32 v that already includes the zero point."""
    low, high = int_range(dtype)
    return np.clip(np.nan_to_num(np.rint(v.astype(np.float64))), low, high).astype(dtype)


def lookup(x: np.ndarray, table_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """y = table[x], table = table_of(every value of x's type): 256 entries for 8 bits."""
    low, high = int_range(x.dtype)
    codes = np.arange(low, high + 1).astype(x.dtype)
    return table_of(codes)[x.astype(np.int64) - low]


def requantize_sum(
    acc: np.ndarray, count: np.ndarray | int, x_scale: np.ndarray, y_scale: np.ndarray,
    y_zero_point: int, dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """y = saturate(rint(float32(acc) * m) + y_zp), m = float32(x_scale / float32(y_scale *
    float32(count))): an exact int32 window sum of (x - x_zp) requantised to a mean."""
    m = F32(x_scale) / (F32(y_scale) * np.asarray(count).astype(F32))
    q = np.rint(acc.astype(F32) * m).astype(np.float64) + y_zero_point
    low, high = int_range(dtype)
    return np.clip(q, low, high).astype(dtype)


def same_type(a: np.ndarray, b: np.ndarray) -> None:
    if a.dtype != b.dtype:
        raise OpArgumentError(f"A is {a.dtype} but B is {b.dtype}; both must have one type")
