import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._nchwc import block, unblock
from .op_fused_conv import fused_conv_1


@reference_op("NchwcConv", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_conv_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
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
    """y = NCHWc(FusedConv(x', w, b, z')): x' = x unblocked if x is blocked (rank 5 for a 2-D
    conv), else x as given (NCHW); z' = z unblocked; y blocked like x, or by 8 for an NCHW x"""
    size = x.shape[-1] if x.ndim == w.ndim + 1 else 8
    plain = unblock(x, "NchwcConv") if x.ndim == w.ndim + 1 else x
    y = fused_conv_1(
        plain,
        w,
        b,
        None,
        None if z is None else unblock(z, "NchwcConv"),
        auto_pad=auto_pad,
        dilations=dilations,
        group=group,
        kernel_shape=kernel_shape,
        pads=pads,
        strides=strides,
        activation=activation,
        activation_params=activation_params,
    )
    return block(y, size, "NchwcConv")
