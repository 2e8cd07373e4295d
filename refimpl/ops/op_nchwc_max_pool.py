import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._nchwc import block, unblock
from .op_max_pool import max_pool_10


@reference_op("NchwcMaxPool", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_max_pool_1(
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y = MaxPool(x unblocked) blocked again like x (N, C/c, *spatial, c)"""
    y = max_pool_10(
        unblock(x, "NchwcMaxPool"),
        kernel_shape=kernel_shape,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
        dilations=dilations,
        pads=pads,
        strides=strides,
    )
    return block(y, x.shape[-1], "NchwcMaxPool")
