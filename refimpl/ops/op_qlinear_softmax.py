"""QLinearSoftmax (com.microsoft), onnxruntime's definition: a float32 table of exp((x - max) *
x_scale) shifted up by the largest power that keeps the row sum finite, a float32 row sum in
order, and y = rint(e / sum * floor(1 / y_scale)) + y_zp. x_zero_point cancels in x - max.
Reproduces onnxruntime bit for bit (its source multiplies before dividing, which overflows
float32 for a one-element row; its build does not); for int8 onnxruntime wraps a result above
127 around to -128, where the reference saturates."""

import math

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis
from ._qlinear import F32, round_biased, scalar, zero_point_of


def _row_exp(x: np.ndarray, x_scale: float, length: int) -> np.ndarray:
    """float32(exp((x - max(x) + shift) * x_scale)) along the last axis, shift as onnxruntime's."""
    shift = max(0.0, math.log(float(F32(np.finfo(F32).max) / F32(length))) - 5) / x_scale
    diff = x.astype(np.float64) - x.max(axis=-1, keepdims=True)
    return np.exp((diff + shift) * x_scale).astype(F32)


@reference_op("QLinearSoftmax", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_softmax_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    axis: int = -1,
    opset: int,
) -> np.ndarray:
    """e = float32(exp((x - max + shift) * x_s)) over the axis (opset < 13: the axes from it on);
    y = saturate(rint(float32(e / sum_in_order(e)) * floor(1 / y_s)) + y_zp), all in float32"""
    if x.ndim == 0:
        raise OpArgumentError("QLinearSoftmax needs an input of rank 1 or more")
    zero_point_of(x_zero_point, x, "X_zero_point")  # checked; it cancels
    zy = zero_point_of(y_zero_point, x, "Y_zero_point")
    axis = norm_axis(axis, x.ndim)  # -1 by default at every opset (the schema's default)
    moved = x.reshape(*x.shape[:axis], -1) if opset < 13 else np.moveaxis(x, axis, -1)
    if moved.shape[-1] == 0 or moved.size == 0:
        return x.copy()
    e = _row_exp(moved, float(scalar(x_scale, "X_scale")), moved.shape[-1])
    total = np.add.accumulate(e, axis=-1, dtype=F32)[..., -1:]  # sequential, as onnxruntime
    top = np.floor(F32(1.0) / F32(scalar(y_scale, "Y_scale")))  # float32 division, as onnxruntime
    y = round_biased(np.rint((e / total) * top).astype(np.float64) + zy, x.dtype)
    return y.reshape(x.shape) if opset < 13 else np.moveaxis(y, -1, axis)
