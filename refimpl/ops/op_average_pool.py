import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._pooling import avg_pool
from ._window import window


@reference_op("AveragePool", since=7, dtypes=FLOAT)
def average_pool_7(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    count_include_pad: int = 0,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, c, o] = sum_k xpad[n, c, o*s + k] / (taps inside x, or inside x+pads if counted)"""
    return average_pool_19(
        x,
        kernel_shape=kernel_shape,
        auto_pad=auto_pad,
        count_include_pad=count_include_pad,
        pads=pads,
        strides=strides,
    )


@reference_op("AveragePool", since=10, dtypes=FLOAT)
def average_pool_10(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    count_include_pad: int = 0,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """As AveragePool-7 with ceil_mode (the ceil extension never counts as padding)"""
    return average_pool_19(
        x,
        kernel_shape=kernel_shape,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        pads=pads,
        strides=strides,
    )


@reference_op("AveragePool", since=19, dtypes=FLOAT)
def average_pool_19(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    count_include_pad: int = 0,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, c, o] = sum_k xpad[n, c, o*s + k*d] / (taps inside x, or inside x+pads if counted)"""
    win = window(
        x.shape[2:],
        kernel_shape,
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
    )
    return avg_pool(x, win, count_include_pad)
