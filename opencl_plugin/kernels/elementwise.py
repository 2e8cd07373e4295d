"""Element-wise ops as C expressions over their operands: `fusion` chains them into generated
kernels (one per fused group). Broadcasting follows numpy (right-aligned); a one-element
constant operand becomes a literal. BatchNormalization (inference) is x * k + shift with
per-channel k and shift computed once, in float64, as the reference computes them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...refimpl.ir import Node, Value
from ._checks import at_plan_time, float32_inputs, is_const

UNARY: dict[str, str] = {
    "Relu": "npmax({0}, 0.0f)",
    "Sigmoid": "sigmoidf({0})",
    "Tanh": "tanh({0})",
    "Exp": "exp({0})",
    "Log": "log({0})",
    "Sqrt": "sqrt({0})",
    "Abs": "fabs({0})",
    "Neg": "(-{0})",
    "Reciprocal": "(1.0f / {0})",
    "Erf": "erf({0})",
    "Floor": "floor({0})",
    "Ceil": "ceil({0})",
    "Identity": "{0}",
    "Dropout": "{0}",
    "HardSwish": "({0} * npclip({0} / 6.0f + 0.5f, 0.0f, 1.0f))",
}
BINARY: dict[str, str] = {
    "Add": "({0} + {1})",
    "Sub": "({0} - {1})",
    "Mul": "({0} * {1})",
    "Div": "({0} / {1})",
    "Pow": "pow({0}, {1})",
    "Max": "npmax({0}, {1})",
    "Min": "npmin({0}, {1})",
    "PRelu": "({0} < 0.0f ? {1} * {0} : {0})",
}
# the same ops on 8 lanes (float8 operands; `fusion` generates 8 elements a work-item where the
# shapes allow): the templates above that do not hold for vectors
UNARY8: dict[str, str] = {
    "Relu": "npmax8({0}, (float8)(0.0f))",
    "Sigmoid": "sigmoid8({0})",
    "HardSwish": "({0} * npclip8({0} / 6.0f + 0.5f, (float8)(0.0f), (float8)(1.0f)))",
}
BINARY8: dict[str, str] = {
    "Max": "npmax8({0}, {1})",
    "Min": "npmin8({0}, {1})",
    "PRelu": "select({0}, {1} * {0}, {0} < 0.0f)",
}
ATTRIBUTED = (
    "Swish",
    "LeakyRelu",
    "HardSigmoid",
    "Clip",
    "Gelu",
    "Expand",
    "BatchNormalization",
    "Cast",
)
OPS = set(UNARY) | set(BINARY) | set(ATTRIBUTED)


def literal(v: float, vector: bool = False) -> str:
    """A float32 literal; a float8 one with `vector`."""
    v = float(np.float32(v))
    if math.isnan(v):
        text = "NAN"
    elif math.isinf(v):
        text = "INFINITY" if v > 0 else "(-INFINITY)"
    else:
        text = f"({v.hex()}f)"
    return f"((float8){text})" if vector else text


def supports(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    op = node.op_type
    if op == "Dropout" and len(node.outputs) > 1 and node.outputs[1]:
        return "Dropout mask output"
    if op == "Cast" and int(node.attrs.get("to", 0)) != 1:
        return "Cast to a type other than float32"
    tensor_inputs = operands(node)
    why = float32_inputs(inputs, *tensor_inputs)
    if why:
        return why
    if op in ("Max", "Min") and len(node.inputs) != 2:
        return f"{op} of {len(node.inputs)} inputs"
    if op == "Clip" and opset >= 11:
        for name in node.inputs[1:3]:
            if name and not (is_const(consts, name) and consts[name].size == 1):
                return "Clip bounds are not constant scalars"
    if op == "Expand" and not at_plan_time(consts, node.inputs[1], inputs[1]):
        return "Expand shape is neither constant nor an integer tensor"
    if op == "Gelu" and node.attrs.get("approximate", "none") not in ("none", "tanh", b"none"):
        return "Gelu approximate mode"
    if op == "BatchNormalization":
        if any(o for o in node.outputs[1:]) or int(node.attrs.get("training_mode", 0)):
            return "training outputs"
        if not int(node.attrs.get("spatial", 1)):
            return "spatial=0"
        if not all(is_const(consts, n) for n in node.inputs[1:5]):
            return "scale / bias / mean / var not constant"
        if len(inputs[0].shape) < 2:  # type: ignore[union-attr]
            return "rank below 2"
    return None


def operands(node: Node) -> tuple[int, ...]:
    """Indices of the node's inputs that are tensors of the expression."""
    if node.op_type in BINARY:
        return (0, 1)
    return (0,)


def expression(
    node: Node,
    args: list[str],
    consts: dict[str, np.ndarray],
    opset: int,
    extra: Callable[[str, np.ndarray, tuple[int, ...]], str],
    vector: bool = False,
) -> str:
    """The C expression of `node` over its operand expressions `args`; `extra(key, array,
    shape)` makes an additional per-element constant operand (BatchNormalization's k, shift).
    With `vector` the operands and the result are float8."""
    op, a = node.op_type, node.attrs
    if op == "Pow":
        return _power(args, consts.get(node.inputs[1]))
    if vector and op in UNARY8:
        return UNARY8[op].format(*args)
    if vector and op in BINARY8:
        return BINARY8[op].format(*args)
    if op in UNARY:
        return UNARY[op].format(*args)
    if op in BINARY:
        return BINARY[op].format(*args)
    x = args[0]
    if op in ("Expand", "Cast"):
        return x
    if op == "LeakyRelu":
        alpha = literal(a.get("alpha", 0.01))
        if vector:
            return f"select({x}, {alpha} * {x}, {x} < 0.0f)"
        return f"({x} < 0.0f ? {alpha} * {x} : {x})"
    if op == "Elu":
        alpha = literal(a.get("alpha", 1.0))
        if vector:
            return f"select({x}, {alpha} * expm1({x}), {x} < 0.0f)"
        return f"({x} < 0.0f ? {alpha} * expm1({x}) : {x})"
    if op == "Swish":
        sig = "sigmoid8" if vector else "sigmoidf"
        return f"({x} * {sig}({literal(a.get('alpha', 1.0))} * {x}))"
    if op == "HardSigmoid":
        alpha, beta = literal(a.get("alpha", 0.2)), literal(a.get("beta", 0.5))
        if vector:
            return f"npclip8({alpha} * {x} + {beta}, (float8)(0.0f), (float8)(1.0f))"
        return f"npclip({alpha} * {x} + {beta}, 0.0f, 1.0f)"
    if op == "Gelu":
        if a.get("approximate", "none") in ("tanh", b"tanh"):
            # x/2 (1 + tanh(u)) = x * sigmoid(2u): no NaN when x^3 overflows, no cancellation
            k = literal(2 * math.sqrt(2.0 / math.pi))
            return f"({x} / (1.0f + exp(-{k} * ({x} + 0.044715f * {x} * {x} * {x}))))"
        # 1 + erf(v) = erfc(-v): accurate where erf(v) is close to -1
        erfc = "gsm_erfc8" if vector else "gsm_erfc"
        return f"(0.5f * {x} * {erfc}({x} * {literal(-1 / math.sqrt(2.0))}))"
    if op == "Clip":
        if opset >= 11:
            lo, hi = (
                literal(float(consts[n].reshape(-1)[0]), vector) if n else None
                for n in (list(node.inputs[1:3]) + ["", ""])[:2]
            )
        else:
            lo, hi = (
                literal(a.get("min", -3.4028234663852886e38), vector),
                literal(a.get("max", 3.4028234663852886e38), vector),
            )
        v8 = "8" if vector else ""
        y = x if lo is None else f"npmax{v8}({x}, {lo})"
        return y if hi is None else f"npmin{v8}({y}, {hi})"
    if op == "BatchNormalization":
        scale, bias, mean, var = (np.asarray(consts[n], np.float64) for n in node.inputs[1:5])
        gain = scale / np.sqrt(var + float(a.get("epsilon", 1e-5)))
        shift = bias - mean * gain
        return f"({x} * {extra('k', gain, (-1,))} + {extra('shift', shift, (-1,))})"
    raise KeyError(op)


def _power(args: list[str], exponent: np.ndarray | None) -> str:
    """Pow, with a constant scalar exponent 2, 3 or 1 as products (PoCL's pow costs ~100 ns an
    element: silero's |STFT| took 0.6 ms for 2k values); numpy's power squares the same way."""
    x, e = args
    if exponent is not None and exponent.size == 1:
        k = float(exponent.reshape(-1)[0])
        if k == 1.0:
            return f"({x})"
        if k == 2.0:
            return f"({x} * {x})"
        if k == 3.0:
            return f"({x} * {x} * {x})"
    return BINARY["Pow"].format(x, e)


def channel_shape(rank: int, c: int) -> tuple[int, ...]:
    return (c,) + (1,) * (rank - 2)


def as_float32(array: Any) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)
