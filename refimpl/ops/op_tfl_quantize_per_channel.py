import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_quantize import tfl_quantize_1


@reference_op("QuantizePerChannel", since=1, domain="tflite", dtypes={"float32"})
def tfl_quantize_per_channel_1(
    x: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    axis: int = 0,
    to: str = "int8",
) -> np.ndarray:
    """y[..., c, ...] = clamp(int32(round(float32(x) / y_s[c])) + y_zp[c]) along `axis`
    (PerChannelQuantize: tflite::Quantize with channel c's scale and zero point)"""
    if not -x.ndim <= axis < x.ndim:
        raise OpArgumentError(f"tflite::QuantizePerChannel axis {axis} for a rank-{x.ndim} x")
    axis %= x.ndim
    channels = x.shape[axis]
    scales = fp.scales(y_scale, channels, "y_scale")
    if np.asarray(y_zero_point).size not in (1, channels):
        raise OpArgumentError(
            f"y_zero_point has {np.asarray(y_zero_point).size} values for {channels} channels"
        )
    zps = np.broadcast_to(np.asarray(y_zero_point, np.int64).reshape(-1), (channels,))
    parts = [
        tfl_quantize_1(np.take(x, [c], axis=axis), scales[c], np.int32(zps[c]), to=to)
        for c in range(channels)
    ]
    if not parts:
        return np.zeros(x.shape, to)
    return np.concatenate(parts, axis=axis)
