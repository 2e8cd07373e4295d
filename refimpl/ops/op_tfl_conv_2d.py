import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from ._tflite_window import windows

TFLITE_INTS = {"int8", "uint8", "int16"}


@reference_op("Conv2D", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_conv_2d_1(
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
    """y[n,h,w,o] = clamp(MBQM(sum (x - x_zp) * (w[o] - w_zp) + bias[o], M[o], S[o]) + y_zp);
    x NHWC, w OHWI (groups = C / I), M[o], S[o] = QuantizeMultiplier(x_s * w_s[o] / y_s)"""
    if w.ndim != 4 or x.ndim != 4 or w.shape[3] == 0 or x.shape[3] % w.shape[3]:
        raise OpArgumentError(
            f"tflite::Conv2D needs NHWC x and OHWI w with C divisible by I, got "
            f"{list(x.shape)} and {list(w.shape)}"
        )
    out_ch, groups = w.shape[0], x.shape[3] // w.shape[3]
    if out_ch % groups:
        raise OpArgumentError(f"{out_ch} filters do not split into {groups} groups")
    x_zp = fp.zero_point(x_zero_point, "x_zero_point")
    taps = windows(x, w.shape[1:3], strides or [1, 1], dilations or [1, 1], padding, x_zp)
    patches = taps.astype(np.int64) - x_zp  # [N, OH, OW, KH, KW, C]
    filt = w.astype(np.int64) - fp.zero_point(w_zero_point, "w_zero_point")
    per_group = out_ch // groups
    acc = np.concatenate(
        [
            fp.int_dot(
                patches[..., g * w.shape[3] : (g + 1) * w.shape[3]].reshape(*patches.shape[:3], -1),
                filt[g * per_group : (g + 1) * per_group].reshape(per_group, -1).T,
            )
            for g in range(groups)
        ],
        axis=-1,
    )
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
