"""QLinearGlobalAveragePool (com.microsoft): an exact int32 sum and one float32 requantisation,
the arithmetic of onnxruntime's MLAS kernel, so its result is reproduced bit for bit."""

import math

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._qlinear import requantize_sum, scalar, zero_point_of
from ._qlinear_pool import from_channels_first, to_channels_first


@reference_op("QLinearGlobalAveragePool", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_global_average_pool_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    channels_last: int = 0,
) -> np.ndarray:
    """y[n, c] = saturate(rint(float32(S) * float32(x_s / (y_s * n))) + y_zp), S = int32 sum
    of (x - x_zp) over the n spatial positions of channel c"""
    if x.ndim < 3:
        raise OpArgumentError(f"QLinearGlobalAveragePool needs N, C and spatial axes: {x.shape}")
    xc = to_channels_first(x, channels_last)
    zx = zero_point_of(x_zero_point, x, "x_zero_point")
    zy = zero_point_of(y_zero_point, x, "y_zero_point")
    axes = tuple(range(2, xc.ndim))
    sums = (xc.astype(np.int64) - zx).sum(axis=axes, keepdims=True)
    count = math.prod(xc.shape[2:])
    sx, sy = scalar(x_scale, "x_scale"), scalar(y_scale, "y_scale")
    return from_channels_first(requantize_sum(sums, count, sx, sy, zy, x.dtype), channels_last)
