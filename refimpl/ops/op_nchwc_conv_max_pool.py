import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from .op_nchwc_conv import nchwc_conv_1
from .op_nchwc_max_pool import nchwc_max_pool_1


@reference_op("NchwcConvMaxPool", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_conv_max_pool_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
    activation: str = "",
    activation_params: list[float] | None = None,
    pool_kernel_shape: list[int],
    pool_auto_pad: str = "NOTSET",
    pool_ceil_mode: int = 0,
    pool_dilations: list[int] | None = None,
    pool_pads: list[int] | None = None,
    pool_strides: list[int] | None = None,
) -> np.ndarray:
    """y = NchwcMaxPool(NchwcConv(x, w, b, scale=scale, shift=shift)): the conv's attributes as
    NchwcConv's (no residual), the pool's as NchwcMaxPool's with a pool_ prefix"""
    conv = nchwc_conv_1(
        x,
        w,
        b,
        None,
        scale,
        shift,
        auto_pad=auto_pad,
        dilations=dilations,
        group=group,
        kernel_shape=kernel_shape,
        pads=pads,
        strides=strides,
        activation=activation,
        activation_params=activation_params,
    )
    return nchwc_max_pool_1(
        conv,
        kernel_shape=pool_kernel_shape,
        auto_pad=pool_auto_pad,
        ceil_mode=pool_ceil_mode,
        dilations=pool_dilations,
        pads=pool_pads,
        strides=pool_strides,
    )
