import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._fused_activation import apply_activation
from .op_conv import conv_1


@reference_op("FusedConv", since=1, domain="gossamer", dtypes=FLOAT)
def fused_conv_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    slope: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
    activation: str = "",
    activation_params: list[float] | None = None,
) -> np.ndarray:
    """y = activation(Conv(x, w, b); activation_params, slope)"""
    y = conv_1(
        x, w, b, auto_pad=auto_pad, dilations=dilations, group=group,
        kernel_shape=kernel_shape, pads=pads, strides=strides,
    )  # fmt: skip
    return apply_activation(y, activation, activation_params, slope)
