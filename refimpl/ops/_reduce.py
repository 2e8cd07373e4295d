"""Shared machinery of the Reduce* ops: axes from attribute or input, and the widened reduction.

Half-precision inputs are reduced in float32 and cast back; a kernel that needs real numbers
(log, sqrt, exp) sees integers as float64. Every result is an ndarray of the input dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import OpArgumentError

Kernel = Callable[[np.ndarray, tuple[int, ...], bool], np.ndarray]
_HALF = ("float16", "bfloat16")


def normalize_axes(ndim: int, axes: Iterable[int]) -> tuple[int, ...]:
    """Axes in [0, ndim), sorted; negative axes count from the back. Raises on range/duplicates."""
    out: list[int] = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise OpArgumentError(f"axis {a} is out of range for a tensor of rank {ndim}")
        out.append(a + ndim if a < 0 else a)
    if len(set(out)) != len(out):
        raise OpArgumentError(f"axes {list(axes)} name the same axis twice")
    return tuple(sorted(out))


def axes_from_attribute(x: np.ndarray, axes: list[int] | None) -> tuple[int, ...]:
    """Opsets before 13/18: an absent or empty `axes` attribute reduces every axis."""
    return normalize_axes(x.ndim, axes) if axes else tuple(range(x.ndim))


def axes_from_input(
    x: np.ndarray, axes: np.ndarray | None, noop_with_empty_axes: int
) -> tuple[int, ...]:
    """Opsets 13/18 on: absent or empty `axes` reduces everything, or nothing if noop is set."""
    if axes is None or axes.size == 0:
        return () if noop_with_empty_axes else tuple(range(x.ndim))
    return normalize_axes(x.ndim, axes.ravel().tolist())


def reduced_size(x: np.ndarray, axes: tuple[int, ...]) -> int:
    return int(np.prod([x.shape[a] for a in axes], dtype=np.int64))


def reduce(
    x: np.ndarray, axes: tuple[int, ...], keepdims: int, kernel: Kernel, *, real: bool = False
) -> np.ndarray:
    """kernel(widened x, axes, keepdims) cast back to x's dtype."""
    work = x
    if x.dtype.name in _HALF:
        work = x.astype(np.float32)
    elif real and x.dtype.kind in "iub":
        work = x.astype(np.float64)
    y = kernel(work, axes, bool(keepdims))
    return np.asarray(y).astype(x.dtype, copy=False)


def reduce_attribute_axes(
    data: np.ndarray, axes: list[int] | None, keepdims: int, kernel: Kernel, *, real: bool = False
) -> np.ndarray:
    """The Reduce* op of opsets before 13/18, where `axes` is an attribute."""
    return reduce(data, axes_from_attribute(data, axes), keepdims, kernel, real=real)


def reduce_input_axes(
    data: np.ndarray,
    axes: np.ndarray | None,
    keepdims: int,
    noop_with_empty_axes: int,
    kernel: Kernel,
    *,
    real: bool = False,
) -> np.ndarray:
    """The Reduce* op of opsets 13/18 on, where `axes` is an input."""
    return reduce(
        data, axes_from_input(data, axes, noop_with_empty_axes), keepdims, kernel, real=real
    )


def extreme_kernel(fn: Callable[..., np.ndarray], identity: Callable[[np.dtype], Any]) -> Kernel:
    """The kernel of fn (np.max / np.min); an empty reduction yields identity(dtype)."""

    def kernel(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        if reduced_size(x, axes) == 0:
            return fn(x, axis=axes, keepdims=keepdims, initial=identity(x.dtype))
        return fn(x, axis=axes, keepdims=keepdims)

    return kernel


def lowest(dtype: np.dtype) -> Any:
    """The identity of max: -inf, the smallest integer, or False."""
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


def highest(dtype: np.dtype) -> Any:
    """The identity of min: +inf, the largest integer, or True."""
    if dtype.kind == "b":
        return True
    return np.iinfo(dtype).max if dtype.kind in "iu" else np.inf


def arg_reduce(
    x: np.ndarray, axis: int, keepdims: int, select_last_index: int, fn: Callable
) -> np.ndarray:
    """int64 index of fn (np.argmax/np.argmin) along axis; ties pick the first or last index."""
    (axis,) = normalize_axes(x.ndim, [axis])
    if x.shape[axis] == 0:
        raise OpArgumentError(f"cannot take an arg-extreme along axis {axis} of size 0")
    if x.dtype.name == "bfloat16":
        x = x.astype(np.float32)
    if select_last_index:
        idx = x.shape[axis] - 1 - fn(np.flip(x, axis=axis), axis=axis, keepdims=bool(keepdims))
    else:
        idx = fn(x, axis=axis, keepdims=bool(keepdims))
    return np.asarray(idx, dtype=np.int64)
