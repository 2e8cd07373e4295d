import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._nchwc import block, unblock
from .op_add import add_7
from .op_fused_conv import fused_conv_1
from .op_mul import mul_7


@reference_op("NchwcConv", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_conv_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    z: np.ndarray | None = None,
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
) -> np.ndarray:
    """y = NCHWc(FusedConv(x', w, b, z') * scale + shift): x' = x unblocked if x is blocked (rank 5
    for a 2-D conv), else x as given (NCHW); z' = z unblocked; scale and shift (optional, the
    constant Mul and Add after the activation, each rounded) broadcast onto the NCHW result
    without growing it (a scalar or per-channel); y blocked like x, or by 8 for an NCHW x"""
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
    for name, v, op in (("scale", scale, mul_7), ("shift", shift, add_7)):
        if v is None:
            continue
        try:
            grown = np.broadcast_shapes(y.shape, v.shape) != y.shape
        except ValueError:
            grown = True
        if grown:
            raise OpArgumentError(
                f"NchwcConv: {name} {list(v.shape)} does not broadcast onto the result "
                f"{list(y.shape)} without growing it"
            )
        y = op(y, v)
    return block(y, size, "NchwcConv")
