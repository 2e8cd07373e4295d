import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from ._tflite_window import out_and_pad

TYPES = {"int8", "uint8"}


@reference_op("TransposeConv2D", since=1, domain="tflite", dtypes=TYPES)
def tfl_transpose_conv_2d_1(
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
    output_shape: list[int],
    strides: list[int] | None = None,
    padding: str = "VALID",
    activation: str = "NONE",
) -> np.ndarray:
    """y[n, iy*s + ky - pad, ix*s + kx - pad, o] += sum_c (x[n,iy,ix,c] - x_zp) * (w[o,ky,kx,c] -
    w_zp) for taps inside `output_shape` (NHWC; pad = the SAME padding of a conv from the output
    back to x), then + bias, MBQM per channel, + y_zp, clamped (as tflite::Conv2D)"""
    if w.ndim != 4 or x.ndim != 4 or w.shape[3] != x.shape[3] or len(output_shape) != 4:
        raise OpArgumentError(
            f"tflite::TransposeConv2D needs NHWC x, OHWI w of x's channels and a 4-D "
            f"output_shape, got {list(x.shape)}, {list(w.shape)}, {list(output_shape)}"
        )
    n, oh, ow, o = (int(d) for d in output_shape)
    if n != x.shape[0] or o != w.shape[0]:
        raise OpArgumentError(f"output_shape {list(output_shape)} does not fit x and w")
    sh, sw = strides or [1, 1]
    kh, kw = w.shape[1:3]
    pads = [out_and_pad(size, k, s, 1, padding)[1] for size, k, s in ((oh, kh, sh), (ow, kw, sw))]
    h, wd = x.shape[1:3]
    full_h = max((h - 1) * sh + kh, pads[0] + oh)
    full_w = max((wd - 1) * sw + kw, pads[1] + ow)
    acc = np.zeros((n, full_h, full_w, o), np.int64)
    a = x.astype(np.float64) - fp.zero_point(x_zero_point, "x_zero_point")
    filt = w.astype(np.float64) - fp.zero_point(w_zero_point, "w_zero_point")
    for ky in range(kh):
        for kx in range(kw):
            tap = np.matmul(a, filt[:, ky, kx, :].T).astype(np.int64)  # [N, H, W, O], exact
            acc[:, ky : ky + (h - 1) * sh + 1 : sh, kx : kx + (wd - 1) * sw + 1 : sw] += tap
    acc = acc[:, pads[0] : pads[0] + oh, pads[1] : pads[1] + ow]
    if bias is not None:
        acc = acc + bias.astype(np.int64).reshape(o)
    per_channel = x.dtype != np.uint8  # uint8 kernels derive one multiplier in float32
    mult, shift = fp.product_multipliers(x_scale, w_scale, y_scale, o, per_channel=per_channel)
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
