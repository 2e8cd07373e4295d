import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_hybrid as hy


@reference_op("HybridDepthwiseConv2D", since=1, domain="tflite", dtypes={"float32"})
def tfl_hybrid_depthwise_conv_2d_1(
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
    """Per batch, float x quantised asymmetrically to int8 q with scale s and zero point zp;
    acc[c*M+m] = sum over in-image taps of w[0, ., ., c*M+m] (q[c] - zp);
    y = clamp(float32(acc) * float32(w_s[c*M+m] * s) + bias) (DepthwiseConvHybridPerChannel);
    x NHWC, w [1, KH, KW, C*M], one filter scale per output channel"""
    if (
        w.ndim != 4
        or x.ndim != 4
        or w.shape[0] != 1
        or w.dtype != np.int8
        or x.shape[3] == 0
        or (w.shape[3] % x.shape[3])
    ):
        raise OpArgumentError(
            f"tflite::HybridDepthwiseConv2D needs NHWC x and an int8 [1, KH, KW, C*M] w, got "
            f"{list(x.shape)} and {w.dtype}{list(w.shape)}"
        )
    out_ch = w.shape[3]
    if np.asarray(w_scale).size != out_ch:
        raise OpArgumentError(f"a hybrid depthwise conv needs {out_ch} filter scales")
    scales = fp.scales(w_scale, out_ch, "w_scale")
    if x.shape[0] == 0:
        raise OpArgumentError("tflite::HybridDepthwiseConv2D needs a batch of at least 1")
    q, factor, offset = hy.asymmetric_quantize(x.reshape(x.shape[0], -1).astype(np.float32))
    acc = hy.conv_accumulate(q.reshape(x.shape), offset, w, strides or [1, 1],
                             dilations or [1, 1], padding, depthwise=True)  # fmt: skip
    scale = (scales[None, :] * factor[:, None]).astype(np.float32).reshape(-1, 1, 1, out_ch)
    y = (fp.wrap_int32(acc).astype(np.float32) * scale).astype(np.float32)
    if bias is not None:
        y = (y + np.asarray(bias, np.float32).reshape(out_ch)).astype(np.float32)
    return hy.clamp(y, activation)
