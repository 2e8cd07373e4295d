import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._pooling import lp_pool
from ._window import window


@reference_op("LpPool", since=2, dtypes=FLOAT)
def lp_pool_2(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    p: int = 2,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, c, o] = (sum_k |xpad[n, c, o*s + k]|^p)^(1/p)"""
    return lp_pool_18(
        x, kernel_shape=kernel_shape, auto_pad=auto_pad, p=p, pads=pads, strides=strides
    )


@reference_op("LpPool", since=18, dtypes=FLOAT)
def lp_pool_18(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: list[int] | None = None,
    p: int = 2,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, c, o] = (sum_k |xpad[n, c, o*s + k*d]|^p)^(1/p)"""
    win = window(
        x.shape[2:],
        kernel_shape,
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
    )
    return lp_pool(x, win, p)
