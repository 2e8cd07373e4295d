import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from .op_nchwc_conv import nchwc_conv_1


@reference_op("NchwcDepthwisePointwise", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_depthwise_pointwise_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    pw_w: np.ndarray | None = None,
    pw_b: np.ndarray | None = None,
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
    pw_activation: str = "",
    pw_activation_params: list[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(y, t): t = NchwcConv(x, w, b), a depthwise (grouped) conv with its attributes as
    NchwcConv's (no residual), and y = NchwcConv(t, pw_w, pw_b, z), the 1x1 conv pw_w (M, C, 1, 1)
    with the residual z and the pw_ activation"""
    if pw_w is None:
        raise OpArgumentError("NchwcDepthwisePointwise: the 1x1 conv's weights pw_w are missing")
    t = nchwc_conv_1(
        x,
        w,
        b,
        auto_pad=auto_pad,
        dilations=dilations,
        group=group,
        kernel_shape=kernel_shape,
        pads=pads,
        strides=strides,
        activation=activation,
        activation_params=activation_params,
    )
    y = nchwc_conv_1(
        t,
        pw_w,
        pw_b,
        z,
        kernel_shape=[1, 1],
        activation=pw_activation,
        activation_params=pw_activation_params,
    )
    return y, t
