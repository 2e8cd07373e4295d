"""QuantizeLinear and DequantizeLinear: per tensor, per axis or per block, every target type."""

from __future__ import annotations

import numpy as np

from ..dtypes import DtypeSet
from ..errors import OpArgumentError
from ._quant import FLOAT_TARGETS, INTEGER_TARGETS, broadcast_param, dtype_of_code, saturate_to

_COMPUTE_FLOATS = DtypeSet({"float16", "float32", "float64", "bfloat16"})


def quantize(
    x: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray | None,
    *,
    axis: int = 1,
    block_size: int = 0,
    saturate: int = 1,
    output_dtype: int = 0,
    precision: int = 0,
) -> np.ndarray:
    """y = saturate(rint(x / scale) + zero_point); the division runs in `precision` or scale's
    dtype; y has zero_point's dtype, else output_dtype, else uint8."""
    target = dtype_of_code(output_dtype, "output_dtype") if output_dtype else np.dtype(np.uint8)
    if zero_point is not None:
        if output_dtype and target != zero_point.dtype:
            raise OpArgumentError(
                f"output_dtype {target} differs from y_zero_point's {zero_point.dtype}"
            )
        target = zero_point.dtype
    if target not in INTEGER_TARGETS | FLOAT_TARGETS:
        raise OpArgumentError(f"{target} is not a quantised type QuantizeLinear can produce")
    compute = dtype_of_code(precision, "precision") if precision else np.asarray(scale).dtype
    compute = compute if compute in _COMPUTE_FLOATS else np.dtype(np.float32)
    s = broadcast_param(scale, x.shape, axis, block_size, "y_scale").astype(compute)
    q = (x.astype(compute) / s).astype(np.float64 if target in INTEGER_TARGETS else np.float32)
    if target in INTEGER_TARGETS:
        q = np.rint(q)  # before adding the zero point: half-to-even depends on parity
    if zero_point is not None:
        q = q + broadcast_param(zero_point, x.shape, axis, block_size, "y_zero_point").astype(
            q.dtype
        )
    return saturate_to(q, target, saturate)


def dequantize(
    x: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray | None,
    *,
    axis: int = 1,
    block_size: int = 0,
    output_dtype: int = 0,
) -> np.ndarray:
    """y = (x - zero_point) * scale, computed in float32, in output_dtype or scale's dtype."""
    out = dtype_of_code(output_dtype, "output_dtype") if output_dtype else np.asarray(scale).dtype
    integer = x.dtype in INTEGER_TARGETS or x.dtype == np.int32
    diff = x.astype(np.int64) if integer else x.astype(np.float32)
    if zero_point is not None:
        if zero_point.dtype != x.dtype:
            raise OpArgumentError(
                f"x_zero_point dtype {zero_point.dtype} differs from x's {x.dtype}"
            )
        zp = broadcast_param(zero_point, x.shape, axis, block_size, "x_zero_point")
        diff = diff - zp.astype(diff.dtype)
    s = broadcast_param(scale, x.shape, axis, block_size, "x_scale").astype(np.float32)
    return (diff.astype(np.float32) * s).astype(out)
