import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import channel_shape, widen

A = np.ndarray


def _normalize(x: A, scale: A, b: A, mean: A, var: A, epsilon: float, shape: tuple) -> A:
    """x * k + (b - mean * k) with k = scale / sqrt(var + eps): per-channel terms in float64."""
    s, bb, m, v = (t.astype(np.float64).reshape(shape) for t in (scale, b, mean, var))
    k = s / np.sqrt(v + epsilon)
    work = np.float64 if x.dtype == np.float64 else np.float32  # float16/bfloat16: round once
    y = x.astype(work, copy=False) * k.astype(work)
    y += (bb - m * k).astype(work)
    return y.astype(x.dtype, copy=False)


def _inference_only(num_outputs: int, since: int) -> None:
    if num_outputs > 1:
        raise OpArgumentError(
            f"BatchNormalization-{since} training outputs (mean, var, saved_mean, saved_var) are "
            "not supported; export with opset >= 14 and training_mode=1 instead"
        )


@reference_op("BatchNormalization", since=7, dtypes=FLOAT)
def batch_normalization_7(
    x: A,
    scale: A,
    b: A,
    mean: A,
    var: A,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    spatial: int = 1,
    num_outputs: int = 1,
) -> np.ndarray:
    """y = (x - mean) / sqrt(var + eps) * scale + b; per channel (spatial=1) or per C,D1..Dn"""
    _inference_only(num_outputs, 7)
    shape = channel_shape(x) if spatial else x.shape[1:]
    return _normalize(x, scale, b, mean, var, epsilon, shape)


@reference_op("BatchNormalization", since=9, dtypes=FLOAT)
def batch_normalization_9(
    x: A,
    scale: A,
    b: A,
    mean: A,
    var: A,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    num_outputs: int = 1,
) -> np.ndarray:
    """y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + b[c] over axis 1"""
    _inference_only(num_outputs, 9)
    return _normalize(x, scale, b, mean, var, epsilon, channel_shape(x))


@reference_op("BatchNormalization", since=14, dtypes=FLOAT)
def batch_normalization_14(
    x: A,
    scale: A,
    b: A,
    input_mean: A,
    input_var: A,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    training_mode: int = 0,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = (x-mu) / sqrt(s2+eps) * scale + b; training: batch mu, s2; running = m*old + (1-m)*new"""
    if not training_mode:
        return _normalize(x, scale, b, input_mean, input_var, epsilon, channel_shape(x))
    axes = (0, *range(2, x.ndim))
    xw = widen(x)
    batch_mean = np.mean(xw, axis=axes)
    batch_var = np.var(xw, axis=axes)  # population variance, as ONNX specifies
    y = _normalize(x, scale, b, batch_mean, batch_var, epsilon, channel_shape(x))
    stat = input_mean.dtype
    running_mean = widen(input_mean) * momentum + batch_mean * (1 - momentum)
    running_var = widen(input_var) * momentum + batch_var * (1 - momentum)
    return y, running_mean.astype(stat), running_var.astype(input_var.dtype)
