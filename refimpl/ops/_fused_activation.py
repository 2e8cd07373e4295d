"""The activation epilogue of the gossamer::Fused* ops: exactly the unfused reference ops.

`activation` names the ONNX op applied to the fused op's result ("" = none) and
`activation_params` holds its float attributes in ONNX order; PRelu takes its slope as a tensor.
Each branch calls the reference function of the op it replaces, so a fused node computes bit for bit
what the unfused chain computes.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError
from .op_clip import clip_11
from .op_gelu import gelu_20
from .op_hard_sigmoid import hard_sigmoid_6
from .op_hard_swish import hard_swish_14
from .op_leaky_relu import leaky_relu_6
from .op_mul import mul_7
from .op_prelu import prelu_7
from .op_relu import relu_6
from .op_sigmoid import sigmoid_6

# activation -> (number of activation_params, their defaults)
ACTIVATIONS: dict[str, tuple[float, ...]] = {
    "": (),
    "Relu": (),
    "Clip": (-np.inf, np.inf),  # min, max
    "HardSigmoid": (0.20000000298023224, 0.5),  # alpha, beta
    "HardSwish": (),
    "Sigmoid": (),
    "LeakyRelu": (0.01,),  # alpha
    "PRelu": (),  # slope is the fused op's last input
    "Swish": (1.0,),  # alpha: x * Sigmoid(alpha * x)
    "Gelu": (),  # approximate="none"
}


def apply_activation(
    y: np.ndarray, activation: str, params: list[float] | None, slope: np.ndarray | None
) -> np.ndarray:
    """y = activation(y; params) computed by the unfused reference ops."""
    if activation not in ACTIVATIONS:
        raise OpArgumentError(
            f"unknown fused activation {activation!r}; known: {sorted(a for a in ACTIVATIONS if a)}"
        )
    defaults = ACTIVATIONS[activation]
    p = list(defaults) if not params else [float(v) for v in params]
    if len(p) != len(defaults):
        raise OpArgumentError(
            f"activation {activation} takes {len(defaults)} activation_params, got {len(p)}"
        )
    if (slope is not None) != (activation == "PRelu"):
        raise OpArgumentError("the slope input is given exactly when activation is PRelu")
    if activation == "":
        return y
    if activation == "Relu":
        return relu_6(y)
    if activation == "Clip":
        return clip_11(y, np.array(p[0], y.dtype), np.array(p[1], y.dtype))
    if activation == "HardSigmoid":
        return hard_sigmoid_6(y, alpha=p[0], beta=p[1])
    if activation == "HardSwish":
        return hard_swish_14(y)
    if activation == "Sigmoid":
        return sigmoid_6(y)
    if activation == "LeakyRelu":
        return leaky_relu_6(y, alpha=p[0])
    if activation == "PRelu":
        return prelu_7(y, slope)
    if activation == "Gelu":
        return gelu_20(y)
    scaled = y if p[0] == 1.0 else mul_7(y, np.array(p[0], y.dtype))
    return mul_7(y, sigmoid_6(scaled))  # Swish
