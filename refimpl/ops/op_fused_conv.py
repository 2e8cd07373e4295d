import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._fused_activation import apply_activation
from .op_conv import conv_1


@reference_op("FusedConv", since=1, domain="gossamer", dtypes=FLOAT)
def fused_conv_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    slope: np.ndarray | None = None,
    z: np.ndarray | None = None,
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
    """y = activation(Conv(x, w, b) + z; activation_params, slope); z (the residual) is optional"""
    y = conv_1(
        x,
        w,
        b,
        auto_pad=auto_pad,
        dilations=dilations,
        group=group,
        kernel_shape=kernel_shape,
        pads=pads,
        strides=strides,
    )
    if z is not None:
        if z.shape != y.shape:
            raise OpArgumentError(
                f"FusedConv residual z has shape {list(z.shape)}, the convolution's output "
                f"{list(y.shape)} (z is added without broadcasting)"
            )
        y = y + z.astype(y.dtype, copy=False)
    return apply_activation(y, activation, activation_params, slope)
