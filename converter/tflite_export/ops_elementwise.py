"""ONNX element-wise ops and activations -> TFLite builtins, in whatever layout their computed
input has (constant operands are broadcast to the output's rank and permuted to match), and
reductions with their axes mapped through it."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Node
from .context import ExportContext, Perm, Refused, identity
from .ops_tflite import version

INF = float("inf")


def operands(ctx: ExportContext, names: list[str], y: str) -> tuple[Perm, list[int]]:
    """One layout for every operand of a broadcasting op: the first computed full-rank input's
    (identity when a computed input has a lower rank), constants reshaped and permuted to it."""
    rank = ctx.rank(y)
    computed = [n for n in names if not ctx.is_const(n)]
    perm = identity(rank)
    full = [n for n in computed if ctx.rank(n) == rank]
    if full and len(full) == len(computed):
        perm = ctx.layout(full[0])
    tensors = []
    for n in names:
        if not ctx.is_const(n):  # a lower rank broadcasts from the right, as in numpy
            tensors.append(ctx.tensor(n, perm if ctx.rank(n) == rank else None))
            continue
        data = ctx.const(n)
        if data.ndim == 0 or data.size == 1:
            data = data.reshape(())  # a scalar broadcasts in any layout
        else:
            data = np.transpose(data.reshape((1,) * (rank - data.ndim) + data.shape), perm)
        tensors.append(ctx.add_const(data, n, ctx.tflite_quant(n, ()) if data.ndim == 0 else None))
    return perm, tensors


def _binary(code: str, options: str | None = None) -> object:
    def lower(ctx: ExportContext, node: Node) -> None:
        names = [i for i in node.inputs if i]
        y = node.outputs[0]
        if len(names) != 2:
            raise Refused(f"{len(names)} operands (TFLite's {code} takes 2)")
        perm, tensors = operands(ctx, names, y)
        opts = (options, {"fused_activation_function": 0}) if options else None
        ctx.emit(code, tensors, [ctx.define(y, perm)], opts, version(ctx, names[0]))

    return lower


def _unary(code: str, options: str | None = None, **fields: tuple[str, float]) -> object:
    """A layout-keeping op of one input; `fields`: option -> (attribute, ONNX default)."""

    def lower(ctx: ExportContext, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        perm = ctx.layout(x)
        opts = None
        if options:
            opts = (options, {f: float(node.attrs.get(a, d)) for f, (a, d) in fields.items()})
        ctx.emit(code, [ctx.tensor(x, perm)], [ctx.define(y, perm)], opts, version(ctx, x))

    return lower


CLAMPS = {(0.0, INF): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1",
          (0.0, 1.0): "RELU_0_TO_1"}  # fmt: skip


def clip(ctx: ExportContext, node: Node) -> None:
    """Clip -> RELU / RELU6 / RELU_N1_TO_1 / RELU_0_TO_1 when its bounds are theirs (float),
    else MAXIMUM and MINIMUM with the bounds (exact on integers too)."""
    x, y = node.inputs[0], node.outputs[0]
    bounds = []
    for k, attr, default in ((1, "min", -INF), (2, "max", INF)):
        name = node.inputs[k] if len(node.inputs) > k else ""
        bounds.append(ctx.const(name, attr).item() if name else node.attrs.get(attr, default))
    perm = ctx.layout(x)
    lo, hi = float(bounds[0]), float(bounds[1])
    if (lo, hi) in CLAMPS and ctx.dtype(x) == "float32":
        ctx.emit(CLAMPS[(lo, hi)], [ctx.tensor(x, perm)], [ctx.define(y, perm)])
        return
    dtype = np.dtype(ctx.dtype(x))
    low, high = (np.iinfo(dtype).min, np.iinfo(dtype).max) if dtype.kind in "iu" else (-INF, INF)
    steps = [(c, b) for c, b in (("MAXIMUM", lo), ("MINIMUM", hi)) if low < b < high]
    if not steps:  # bounds wider than the values: nothing to do
        ctx.alias(y, x, identity(ctx.rank(x)))
        return
    value = ctx.tensor(x, perm)
    spec = ctx.writer.tensors[value]
    for k, (code, bound) in enumerate(steps):
        c = ctx.add_const(np.array(bound, dtype), f"{node.name}/{code.lower()}", spec.quant)
        last = k == len(steps) - 1
        out = ctx.define(y, perm) if last else ctx.temp("low", spec.dtype, spec.shape, spec.quant)
        ctx.emit(code, [value, c], [out], None, version(ctx, x))
        value = out


def hard_sigmoid(ctx: ExportContext, node: Node) -> None:
    """max(0, min(1, alpha * x + beta)) = RELU_0_TO_1(MUL, ADD)."""
    x, y = node.inputs[0], node.outputs[0]
    perm = ctx.layout(x)
    xs = ctx.tensor(x, perm)
    shape = ctx.writer.tensors[xs].shape
    alpha = ctx.add_const(np.array(node.attrs.get("alpha", 0.2), np.float32), f"{node.name}/alpha")
    beta = ctx.add_const(np.array(node.attrs.get("beta", 0.5), np.float32), f"{node.name}/beta")
    scaled = ctx.temp("scaled", "float32", shape)
    shifted = ctx.temp("shifted", "float32", shape)
    ctx.emit("MUL", [xs, alpha], [scaled], ("MulOptions", {"fused_activation_function": 0}))
    ctx.emit("ADD", [scaled, beta], [shifted], ("AddOptions", {"fused_activation_function": 0}))
    ctx.emit("RELU_0_TO_1", [shifted], [ctx.define(y, perm)])


def reciprocal(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    perm = ctx.layout(x)
    one = ctx.add_const(np.array(1.0, np.float32), f"{node.name}/one")
    opts = ("DivOptions", {"fused_activation_function": 0})
    ctx.emit("DIV", [one, ctx.tensor(x, perm)], [ctx.define(y, perm)], opts)


def prelu(ctx: ExportContext, node: Node) -> None:
    x, slope, y = node.inputs[0], node.inputs[1], node.outputs[0]
    perm, tensors = operands(ctx, [x, slope], y)
    ctx.emit("PRELU", tensors, [ctx.define(y, perm)])


def reduce(code: str) -> object:
    """ReduceX(axes) / GlobalXPool: keep_dims keeps the layout (axes mapped through it);
    otherwise the input is read in its graph layout."""

    def lower(ctx: ExportContext, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        rank = ctx.rank(x)
        if node.op_type.startswith("Global"):
            axes, keep = list(range(2, rank)), True
        else:
            given = node.inputs[1] if len(node.inputs) > 1 and node.inputs[1] else ""
            axes = (
                [int(a) for a in ctx.const(given, "axes").reshape(-1)]
                if given
                else list(node.attrs.get("axes") or [])
            )
            keep = bool(node.attrs.get("keepdims", 1))
            if not axes:
                if node.attrs.get("noop_with_empty_axes", 0):
                    raise Refused("noop_with_empty_axes")
                axes = list(range(rank))
        axes = sorted({a % rank for a in axes})
        perm = ctx.layout(x) if keep else identity(rank)
        phys = ctx.int32s([list(perm).index(a) for a in axes], "axes")
        opts = ("ReducerOptions", {"keep_dims": keep})
        out = ctx.define(y, perm if keep else None)
        ctx.emit(code, [ctx.tensor(x, perm), phys], [out], opts, version(ctx, x))

    return lower


LOWERINGS = {
    ("", "Add"): _binary("ADD", "AddOptions"),
    ("", "Sub"): _binary("SUB", "SubOptions"),
    ("", "Mul"): _binary("MUL", "MulOptions"),
    ("", "Div"): _binary("DIV", "DivOptions"),
    ("", "Pow"): _binary("POW"),
    ("", "Max"): _binary("MAXIMUM"),
    ("", "Min"): _binary("MINIMUM"),
    ("", "Equal"): _binary("EQUAL"),
    ("", "Less"): _binary("LESS"),
    ("", "LessOrEqual"): _binary("LESS_EQUAL"),
    ("", "Greater"): _binary("GREATER"),
    ("", "GreaterOrEqual"): _binary("GREATER_EQUAL"),
    ("", "And"): _binary("LOGICAL_AND"),
    ("", "Or"): _binary("LOGICAL_OR"),
    ("", "Relu"): _unary("RELU"),
    ("", "Sigmoid"): _unary("LOGISTIC"),
    ("", "Tanh"): _unary("TANH"),
    ("", "Exp"): _unary("EXP"),
    ("", "Log"): _unary("LOG"),
    ("", "Sqrt"): _unary("SQRT"),
    ("", "Abs"): _unary("ABS"),
    ("", "Neg"): _unary("NEG"),
    ("", "Floor"): _unary("FLOOR"),
    ("", "Ceil"): _unary("CEIL"),
    ("", "Round"): _unary("ROUND"),
    ("", "Sin"): _unary("SIN"),
    ("", "Cos"): _unary("COS"),
    ("", "Sign"): _unary("SIGN"),
    ("", "Not"): _unary("LOGICAL_NOT"),
    ("", "HardSwish"): _unary("HARD_SWISH"),
    ("gossamer", "HardSwish"): _unary("HARD_SWISH"),  # the optimiser's fusion of x*relu6(x+3)/6
    ("", "Gelu"): _unary("GELU"),
    ("", "LeakyRelu"): _unary("LEAKY_RELU", "LeakyReluOptions", alpha=("alpha", 0.01)),
    ("", "HardSigmoid"): hard_sigmoid,
    ("", "Reciprocal"): reciprocal,
    ("", "PRelu"): prelu,
    ("", "Clip"): clip,
    ("", "ReduceMean"): reduce("MEAN"),
    ("", "ReduceSum"): reduce("SUM"),
    ("", "ReduceMax"): reduce("REDUCE_MAX"),
    ("", "ReduceMin"): reduce("REDUCE_MIN"),
    ("", "ReduceProd"): reduce("REDUCE_PROD"),
    ("", "GlobalAveragePool"): reduce("MEAN"),
    ("", "GlobalMaxPool"): reduce("REDUCE_MAX"),
}
