import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import channel_shape, stash, widen


def _group_normalize(x: np.ndarray, num_groups: int, epsilon: float, stash_type: int):
    if x.ndim < 2 or num_groups < 1 or x.shape[1] % num_groups:
        raise OpArgumentError(
            f"GroupNormalization: {x.shape[1] if x.ndim > 1 else '?'} channels of input "
            f"{x.shape} cannot be split into num_groups={num_groups}"
        )
    grouped = stash(x, stash_type).reshape(x.shape[0], num_groups, -1)
    mean = np.mean(grouped, axis=2, keepdims=True)
    var = np.var(grouped, axis=2, keepdims=True)
    normalized = (grouped - mean) / np.sqrt(var + epsilon)
    return widen(normalized.reshape(x.shape).astype(x.dtype))


@reference_op("GroupNormalization", since=18, dtypes=FLOAT)
def group_normalization_18(
    x: np.ndarray, scale: np.ndarray, bias: np.ndarray, *, num_groups: int, epsilon: float = 1e-5
) -> np.ndarray:
    """y = normalize(x per group of channels) * scale[g] + bias[g] (scale, bias per group)"""
    if scale.shape != (num_groups,) or bias.shape != (num_groups,):
        raise OpArgumentError(
            f"GroupNormalization-18 needs scale and bias of shape ({num_groups},), got "
            f"{scale.shape} and {bias.shape}"
        )
    per_channel = x.shape[1] // num_groups if x.ndim > 1 else 1
    s, b = (np.repeat(widen(t), per_channel) for t in (scale, bias))
    y = _group_normalize(x, num_groups, epsilon, 0) * s.reshape(channel_shape(x))
    return (y + b.reshape(channel_shape(x))).astype(x.dtype, copy=False)


@reference_op("GroupNormalization", since=21, dtypes=FLOAT)
def group_normalization_21(
    x: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray,
    *,
    num_groups: int,
    epsilon: float = 1e-5,
    stash_type: int = 1,
) -> np.ndarray:
    """y = normalize(x per group of channels) * scale[c] + bias[c] (scale, bias per channel)"""
    if x.ndim < 2 or scale.shape != (x.shape[1],) or bias.shape != (x.shape[1],):
        raise OpArgumentError(
            f"GroupNormalization-21 needs scale and bias of shape (C,) for input {x.shape}, got "
            f"{scale.shape} and {bias.shape}"
        )
    y = _group_normalize(x, num_groups, epsilon, stash_type) * widen(scale).reshape(
        channel_shape(x)
    )
    return (y + widen(bias).reshape(channel_shape(x))).astype(x.dtype, copy=False)
