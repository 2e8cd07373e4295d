import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from .op_fused_conv import fused_conv_1


@reference_op("FusedConvPair", since=1, domain="gossamer", dtypes=FLOAT)
def fused_conv_pair_1(
    x: np.ndarray,
    w1: np.ndarray,
    b1: np.ndarray | None,
    w2: np.ndarray,
    b2: np.ndarray | None = None,
    z: np.ndarray | None = None,
    *,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
    activation: str = "",
    activation_params: list[float] | None = None,
    second_pads: list[int] | None = None,
    second_activation: str = "",
    second_activation_params: list[float] | None = None,
) -> np.ndarray:
    """y = FusedConv(FusedConv(x, w1, b1; pads, strides, activation), w2, b2, z; second_pads,
    second_activation): two group-1 convs, the first's result read by the second alone"""
    t = fused_conv_1(x, w1, b1, pads=pads, strides=strides, activation=activation,
                     activation_params=activation_params)  # fmt: skip
    return fused_conv_1(t, w2, b2, None, z, pads=second_pads, activation=second_activation,
                        activation_params=second_activation_params)  # fmt: skip
