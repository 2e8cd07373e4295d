import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from ._tflite_window import windows
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("DepthwiseConv2D", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_depthwise_conv_2d_1(
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
    strides: list[int] | None = None,
    dilations: list[int] | None = None,
    padding: str = "VALID",
    activation: str = "NONE",
) -> np.ndarray:
    """y[n,h,w,c*M+m] = clamp(MBQM(sum (x[..c] - x_zp) * (w[0,.,.,c*M+m] - w_zp) + bias, M, S)
    + y_zp); x NHWC, w [1, KH, KW, C*M] (depth multiplier M), per-channel M, S as tflite::Conv2D"""
    if w.ndim != 4 or x.ndim != 4 or w.shape[0] != 1 or x.shape[3] == 0 or w.shape[3] % x.shape[3]:
        raise OpArgumentError(
            f"tflite::DepthwiseConv2D needs NHWC x and a [1, KH, KW, C*M] w, got "
            f"{list(x.shape)} and {list(w.shape)}"
        )
    channels, out_ch = x.shape[3], w.shape[3]
    x_zp = fp.zero_point(x_zero_point, "x_zero_point")
    taps = windows(x, w.shape[1:3], strides or [1, 1], dilations or [1, 1], padding, x_zp)
    patches = np.repeat(taps.astype(np.int64) - x_zp, out_ch // channels, axis=-1)
    filt = w[0].astype(np.int64) - fp.zero_point(w_zero_point, "w_zero_point")  # [KH, KW, C*M]
    acc = np.einsum("nhwijc,ijc->nhwc", patches.astype(np.float64), filt.astype(np.float64))
    acc = acc.astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64).reshape(out_ch)
    mult, shift = fp.product_multipliers(
        x_scale, w_scale, y_scale, out_ch, per_channel=x.dtype != np.uint8
    )
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
