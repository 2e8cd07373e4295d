import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._pooling import max_pool, max_pool_indices
from ._window import window


def _max_pool(x, *, want_indices: bool, storage_order: int = 0, **geometry):
    win = window(x.shape[2:], **geometry)
    y = max_pool(x, win)
    return (y, max_pool_indices(x, win, storage_order)) if want_indices else y


@reference_op("MaxPool", since=1, dtypes=FLOAT)
def max_pool_1(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, c, o] = max_k xpad[n, c, o*s + k] (padding is -inf)"""
    return _max_pool(
        x, want_indices=False, kernel=kernel_shape, auto_pad=auto_pad, pads=pads, strides=strides
    )


@reference_op("MaxPool", since=8, dtypes=FLOAT)
def max_pool_8(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    pads: list[int] | None = None,
    storage_order: int = 0,
    strides: list[int] | None = None,
    num_outputs: int = 1,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """y = max over each window; indices = flat index into x of the (first) maximum"""
    return _max_pool(
        x,
        want_indices=num_outputs > 1,
        storage_order=storage_order,
        kernel=kernel_shape,
        auto_pad=auto_pad,
        pads=pads,
        strides=strides,
    )


@reference_op("MaxPool", since=10, dtypes=FLOAT)
def max_pool_10(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    storage_order: int = 0,
    strides: list[int] | None = None,
    num_outputs: int = 1,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """y[n, c, o] = max_k xpad[n, c, o*s + k*d]; indices = flat index into x of the first max"""
    return _max_pool(
        x,
        want_indices=num_outputs > 1,
        storage_order=storage_order,
        kernel=kernel_shape,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
        dilations=dilations,
        pads=pads,
        strides=strides,
    )


@reference_op("MaxPool", since=12, dtypes=FLOAT | {"int8", "uint8"})
def max_pool_12(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    storage_order: int = 0,
    strides: list[int] | None = None,
    num_outputs: int = 1,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """As MaxPool-10, also over int8/uint8 (padding is the type's minimum)"""
    return max_pool_10(
        x,
        kernel_shape=kernel_shape,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
        dilations=dilations,
        pads=pads,
        storage_order=storage_order,
        strides=strides,
        num_outputs=num_outputs,
    )
