"""QLinearConcat (com.microsoft): each input is requantised to the output's scale and zero point
through the float32 identity lookup table onnxruntime builds (copied when its parameters equal
the output's), so onnxruntime's result is reproduced bit for bit."""

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis
from ._qlinear import dequantize_f32, lookup, quantize_f32, scalar, zero_point_of


def _requantizer(sx: np.ndarray, zx: int, sy: np.ndarray, zy: int):
    """The identity table from (sx, zx) to (sy, zy), in float32."""
    return lambda codes: quantize_f32(dequantize_f32(codes, sx, zx), sy, zy, codes.dtype)


@reference_op("QLinearConcat", since=1, domain="com.microsoft", dtypes={"float32"})
def qlinear_concat_1(
    y_scale: np.ndarray, y_zero_point: np.ndarray, *inputs: np.ndarray, axis: int
) -> np.ndarray:
    """y = concat over (x_i, s_i, zp_i) of saturate(rint(float32(s_i * (x_i - zp_i)) / y_scale)
    + y_zp) along axis, in float32"""
    if not inputs or len(inputs) % 3:
        raise OpArgumentError(
            f"QLinearConcat takes (tensor, scale, zero point) triples after Y_scale and "
            f"Y_zero_point; got {len(inputs)} inputs there"
        )
    sy, dtype = scalar(y_scale, "Y_scale"), y_zero_point.dtype
    zy = int(scalar(y_zero_point, "Y_zero_point"))
    parts = []
    for k in range(0, len(inputs), 3):
        x, sx = inputs[k], scalar(inputs[k + 1], f"scale of input {k // 3}")
        zx = zero_point_of(inputs[k + 2], x, f"zero point of input {k // 3}")
        if x.dtype != dtype:
            raise OpArgumentError(f"input {k // 3} is {x.dtype}, Y_zero_point is {dtype}")
        parts.append(x if sx == sy and zx == zy else lookup(x, _requantizer(sx, zx, sy, zy)))
    return np.concatenate(parts, axis=norm_axis(axis, parts[0].ndim))
