"""Shared pieces of Softmax, LogSoftmax and Hardmax.

Opsets before 13 coerce the input to 2-D at `axis`, [prod(shape[:axis]), prod(shape[axis:])], and
normalise each row over the whole flattened trailing part; opset 13 normalises along one axis.
Half-precision inputs are computed in float32 and cast back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import OpArgumentError

AxisFn = Callable[[np.ndarray, int], np.ndarray]


def check_axis(x: np.ndarray, axis: int) -> int:
    """axis in [0, rank); negative axes count from the back."""
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise OpArgumentError(f"axis {axis} is out of range for a tensor of rank {x.ndim}")
    return axis + x.ndim if axis < 0 else axis


def along_axis(x: np.ndarray, axis: int, fn: AxisFn) -> np.ndarray:
    """Opset 13 semantics: fn applied along one axis, in float32 for half inputs."""
    axis = check_axis(x, axis)
    work = x.astype(np.float32) if x.dtype.name in ("float16", "bfloat16") else x
    return np.asarray(fn(work, axis)).astype(x.dtype, copy=False)


def coerced_2d(x: np.ndarray, axis: int, fn: AxisFn) -> np.ndarray:
    """Opsets < 13: fn applied to the rows of x reshaped to [prod(shape[:axis]), -1]."""
    if not -x.ndim <= axis <= x.ndim:  # axis == rank coerces to [N, 1]
        raise OpArgumentError(f"axis {axis} is out of range for a tensor of rank {x.ndim}")
    axis = axis + x.ndim if axis < 0 else axis
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    cols = int(np.prod(x.shape[axis:], dtype=np.int64))
    return along_axis(x.reshape(rows, cols), 1, fn).reshape(x.shape)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def hardmax(x: np.ndarray, axis: int) -> np.ndarray:
    """1 at the first maximum along axis, 0 elsewhere."""
    out = np.zeros_like(x)
    if x.shape[axis] == 0:
        return out
    first = np.expand_dims(np.argmax(x, axis=axis), axis)
    np.put_along_axis(out, first, 1, axis=axis)
    return out
