import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_hybrid as hy


@reference_op("HybridConv2D", since=1, domain="tflite", dtypes={"float32"})
def tfl_hybrid_conv_2d_1(
    x: np.ndarray,
    w: np.ndarray,
    w_scale: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    strides: list[int] | None = None,
    dilations: list[int] | None = None,
    padding: str = "VALID",
    activation: str = "NONE",
) -> np.ndarray:
    """Per batch, float x quantised to int8 q with scale s (and zero point zp), then
    acc[o] = sum over in-image taps of w[o] (q - zp); y = clamp(float32(acc) * w_s * s + bias).
    Filter scales that differ (or groups): asymmetric q, ((acc * w_s[o]) * s); one scale:
    symmetric q, acc * float32(s * w_s) (EvalHybridPerChannel / EvalHybrid); x NHWC, w OHWI"""
    if (
        w.ndim != 4
        or x.ndim != 4
        or w.dtype != np.int8
        or w.shape[3] == 0
        or (x.shape[3] % w.shape[3])
    ):
        raise OpArgumentError(
            f"tflite::HybridConv2D needs NHWC x and int8 OHWI w with C divisible by I, got "
            f"{list(x.shape)} and {w.dtype}{list(w.shape)}"
        )
    out_ch = w.shape[0]
    groups = x.shape[3] // w.shape[3]
    if out_ch % groups:
        raise OpArgumentError(f"{out_ch} filters do not split into {groups} groups")
    scales = fp.scales(w_scale, out_ch, "w_scale")
    per_channel = groups != 1 or bool(np.any(scales != scales[0]))
    if per_channel and np.asarray(w_scale).size != out_ch:
        raise OpArgumentError(f"a grouped hybrid conv needs {out_ch} filter scales")
    if x.shape[0] == 0:
        raise OpArgumentError("tflite::HybridConv2D needs a batch of at least 1")
    rows = x.reshape(x.shape[0], -1).astype(np.float32)
    if per_channel:
        q, factor, offset = hy.asymmetric_quantize(rows)
    else:
        q, factor = hy.symmetric_quantize(rows)
        factor = (factor * scales[0]).astype(np.float32)
        offset = np.zeros(x.shape[0], np.int64)
    acc = hy.conv_accumulate(q.reshape(x.shape), offset, w, strides or [1, 1],
                             dilations or [1, 1], padding, depthwise=False)  # fmt: skip
    acc_f = fp.wrap_int32(acc).astype(np.float32)
    batch = factor.reshape(-1, 1, 1, 1)
    if per_channel:
        y = ((acc_f * scales).astype(np.float32) * batch).astype(np.float32)
    else:
        y = (acc_f * batch).astype(np.float32)
    if bias is not None:
        y = (y + np.asarray(bias, np.float32).reshape(out_ch)).astype(np.float32)
    return hy.clamp(y, activation)
