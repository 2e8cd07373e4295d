"""Small predicates the families share: float32 operands, constant inputs, fused activations."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...refimpl.ir import Node, Value

# fused activation name -> code in common.cl's activate()
ACT_CODES = {
    "": 0,
    "Relu": 1,
    "Clip": 2,
    "HardSigmoid": 3,
    "HardSwish": 4,
    "Sigmoid": 5,
    "LeakyRelu": 6,
    "Swish": 7,
    "Gelu": 8,
}
_ACT_DEFAULTS = {
    "Clip": (-np.inf, np.inf),
    "HardSigmoid": (0.20000000298023224, 0.5),
    "LeakyRelu": (0.01,),
    "Swish": (1.0,),
}


def float32_inputs(inputs: list[Value | None], *which: int) -> str | None:
    for i in which or range(len(inputs)):
        v = inputs[i] if i < len(inputs) else None
        if v is None:
            continue
        if v.dtype != "float32":
            return f"input {i} is {v.dtype or 'of unknown dtype'} (opencl runs float32)"
        if v.shape is None:
            return f"input {i} has unknown rank"
    return None


PRELU = 10  # not an activate() code: the kernels apply the slope themselves


def fused_activation(node: Node) -> tuple[int, float, float] | str:
    """(code, p0, p1) of a Fused* node's activation (PRELU: the slope input), or why it is not
    supported."""
    name = node.attrs.get("activation", "")
    if isinstance(name, bytes):
        name = name.decode()
    if name == "PRelu":
        return PRELU, 0.0, 0.0
    if name not in ACT_CODES:
        return f"fused activation {name} not supported"
    params = [float(p) for p in node.attrs.get("activation_params") or _ACT_DEFAULTS.get(name, ())]
    params += [0.0, 0.0]
    return ACT_CODES[name], params[0], params[1]


def is_const(consts: dict[str, Any], name: str) -> bool:
    return bool(name) and name in consts


def at_plan_time(consts: dict[str, Any], name: str, value: Value | None) -> bool:
    """Whether a parameter input (a shape, axes, slice bounds) is known when a plan is built: a
    constant, or an integer tensor (no claimed node makes one, so it enters the partition from
    outside and its values key the plan)."""
    if not name or name in consts:
        return True
    return value is not None and value.dtype in ("int64", "int32")


def known(shape: Any) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)


def slope_refusal(
    node: Node, consts: dict, slope_index: int, channels: Any, axis: int, rank: int
) -> str | None:
    """Why a PRelu slope cannot run in an epilogue (it must be a constant scalar or one value
    per channel along `axis` of the output), else None."""
    name = node.inputs[slope_index] if len(node.inputs) > slope_index else ""
    if not name or name not in consts:
        return "PRelu slope is not constant"
    slope = consts[name]
    if slope.size == 1:
        return None
    shape = (1,) * (rank - slope.ndim) + tuple(slope.shape)
    want = tuple(channels if a == axis else 1 for a in range(rank))
    return None if shape == want else "PRelu slope is not per channel"


def slope_args(bld: Any, node: Node, slope_index: int, act: tuple, mode: int) -> tuple:
    """(act, slope buffer or None, slope mode) for the kernels: a scalar slope is LeakyRelu."""
    if act[0] != PRELU:
        return act, None, 0
    slope = bld.const(node.inputs[slope_index])
    if slope.size == 1:
        return (ACT_CODES["LeakyRelu"], float(slope.reshape(-1)[0]), 0.0), None, 0
    return (0, 0.0, 0.0), bld.weight(node.inputs[slope_index], slope.reshape(-1)), mode
