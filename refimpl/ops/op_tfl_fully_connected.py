import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("FullyConnected", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_fully_connected_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    w: np.ndarray,
    w_scale: np.ndarray,
    w_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    activation: str = "NONE",
) -> np.ndarray:
    """y[m, n] = clamp(MBQM(sum_k (x[m,k] - x_zp) * (w[n,k] - w_zp) + bias[n], M[n], S[n]) + y_zp)
    with x flattened to [-1, K]; per-channel w_scale: M, S from double(x_s) * w_s[n] / y_s; one
    w_scale: from float32(x_s * w_s) / y_s (TFLite's two derivations); int16 x (16x8): y =
    clamp(round(double(acc) * x_s * w_s[n] / y_s) + y_zp), the accumulator the bias's type"""
    if w.ndim != 2 or w.shape[1] == 0 or x.size % w.shape[1]:
        raise OpArgumentError(
            f"tflite::FullyConnected needs w [N, K] with K dividing x's size, got w "
            f"{list(w.shape)} and x {list(x.shape)}"
        )
    n, k = w.shape
    a = x.reshape(-1, k).astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point")
    filt = w.astype(np.int64) - fp.zero_point(w_zero_point, "w_zero_point")
    acc = fp.int_dot(a, filt.T)
    if bias is not None:
        acc = acc + bias.astype(np.int64).reshape(n)
    y_zp = fp.zero_point(y_zero_point, "y_zero_point")
    if x.dtype == np.int16:  # the 16x8 kernel rescales in double: round(acc * x_s * w_s / y_s)
        if bias is not None and bias.dtype != np.int64:
            acc = fp.wrap_int32(acc)
        xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
        real = np.float64(xs) * fp.scales(w_scale, n, "w_scale").astype(np.float64) / np.float64(ys)
        scaled = fp.round_half_away(acc.astype(np.float64) * real).astype(np.int64)
        low, high = fp.activation_range(activation, y_scale, np.asarray(y_zp), x.dtype)
        return fp.saturate_cast(scaled + y_zp, low, high, x.dtype)
    per_channel = np.size(w_scale) > 1
    mult, shift = fp.product_multipliers(x_scale, w_scale, y_scale, n, per_channel=per_channel)
    return fp.output_stage(
        acc,
        mult,
        shift,
        fp.zero_point(y_zero_point, "y_zero_point"),
        activation,
        y_scale,
        x.dtype,
        bias,
    )
