"""Rules for reductions, TopK, Resize, quantisation, data-dependent ops and generators."""

from __future__ import annotations

import math

from ..ir import Dim, Node
from .rules_shape import concat
from .scope import (
    Rule,
    Scope,
    axes_of,
    dtype_from_onnx,
    in_name,
    norm_axis,
    out_name,
    rank_of,
    rule_table,
)
from .symbolic import Shape, broadcast_shapes, chain, dim_add, dim_mul, dims_product, is_num

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)
MS_RULES: dict[str, Rule] = {}  # com.microsoft ops whose rule differs from the ONNX op's
ms_rule = rule_table(MS_RULES)


_REDUCE = (
    "ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum "
    "ReduceLogSumExp ReduceSumSquare"
).split()


@rule(*_REDUCE, "ArgMax", "ArgMin")
def _reduction(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    keep = n.attrs.get("keepdims", 1)
    dtype = "int64" if n.op_type in ("ArgMax", "ArgMin") else x.dtype
    if n.op_type in ("ArgMax", "ArgMin"):
        axes: list[int] | None = [n.attrs.get("axis", 0)]
    else:
        axes, given = axes_of(s, n, 1)
        if given and axes is None:  # axes computed at run time
            rank = rank_of(x.shape)
            s.set(out_name(n), dtype, (None,) * rank if keep and rank is not None else None)
            return
        if not axes and n.attrs.get("noop_with_empty_axes", 0):
            s.set(out_name(n), dtype, x.shape)
            return
    if x.shape is None:
        s.set(out_name(n), dtype, None)
        return
    rank = len(x.shape)
    gone = {norm_axis(a, rank) for a in axes} if axes else set(range(rank))
    shape = [1 if i in gone else d for i, d in enumerate(x.shape) if keep or i not in gone]
    s.set(out_name(n), dtype, tuple(shape))
    sym = s.sym(in_name(n, 0))
    if sym is not None and not sym.scalar and n.op_type in ("ReduceProd", "ReduceSum"):
        fn = dim_mul if n.op_type == "ReduceProd" else dim_add
        value = chain(fn, tuple(sym.elems)) if sym.elems else int(n.op_type == "ReduceProd")
        s.set_sym(out_name(n), dtype, [value], not keep)


@rule("TopK")
def _topk(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    k_values = s.sym(in_name(n, 1)) if in_name(n, 1) else None
    k: Dim = n.attrs.get("k") if "k" in n.attrs else (k_values.elems[0] if k_values else None)
    shape: Shape = None
    if x.shape is not None:
        axis = norm_axis(n.attrs.get("axis", -1), len(x.shape))
        shape = tuple(k if i == axis else d for i, d in enumerate(x.shape))
    s.set(out_name(n), x.dtype, shape)
    s.set(out_name(n, 1), "int64", shape)


@rule("Resize", "Upsample")
def _resize(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    if x.shape is None:
        s.set(out_name(n), x.dtype, None)
        return
    rank = len(x.shape)
    if n.op_type == "Upsample" or s.opset < 11:
        scales = n.attrs.get("scales") or s.numbers(in_name(n, 1))
        sizes_sym = None
    else:
        scales = s.numbers(in_name(n, 2)) if in_name(n, 2) else None
        sizes_sym = s.sym(in_name(n, 3)) if in_name(n, 3) else None
        scales = scales or None  # an empty scales tensor means "use sizes"
    axes = n.attrs.get("axes") or list(range(rank))
    shape: list[Dim] = list(x.shape)
    policy = n.attrs.get("keep_aspect_ratio_policy", "stretch")
    if sizes_sym is not None and len(sizes_sym.elems) == len(axes) and policy == "stretch":
        for a, size in zip(axes, sizes_sym.elems):
            shape[norm_axis(a, rank) or 0] = size
    elif scales is not None and len(scales) == len(axes):
        for a, sc in zip(axes, scales):
            ax = norm_axis(a, rank) or 0
            d = shape[ax]
            if is_num(d):
                shape[ax] = int(math.floor(d * sc))  # type: ignore[operator]  # as the reference
            else:
                shape[ax] = dim_mul(d, int(sc)) if float(sc).is_integer() else None
    else:
        shape = [None] * rank
    s.set(out_name(n), x.dtype, tuple(shape))


# ---- quantisation ----------------------------------------------------------------------------
@rule("QuantizeLinear")
def _quantize(s: Scope, n: Node) -> None:
    dtype = s.dtype(in_name(n, 2)) if in_name(n, 2) else None
    dtype = dtype or dtype_from_onnx(n.attrs.get("output_dtype", 0)) or "uint8"
    s.set(out_name(n), dtype, s.shape(in_name(n, 0)))


@rule("DequantizeLinear")
def _dequantize(s: Scope, n: Node) -> None:
    dtype = dtype_from_onnx(n.attrs.get("output_dtype", 0)) or s.dtype(in_name(n, 1)) or "float32"
    s.set(out_name(n), dtype, s.shape(in_name(n, 0)))


@rule("DynamicQuantizeLinear")
def _dynamic_quantize(s: Scope, n: Node) -> None:
    s.set(out_name(n), "uint8", s.shape(in_name(n, 0)))
    s.set(out_name(n, 1), "float32", ())
    s.set(out_name(n, 2), "uint8", ())


@ms_rule("QLinearAdd", "QLinearMul")
def _qlinear_binary(s: Scope, n: Node) -> None:
    shape = broadcast_shapes(s.shape(in_name(n, 0)), s.shape(in_name(n, 3)))
    s.set(out_name(n), s.dtype(in_name(n, 0)), shape)


@ms_rule("QLinearConcat")
def _qlinear_concat(s: Scope, n: Node) -> None:
    inner = Node("Concat", n.inputs[2::3], n.outputs, {"axis": n.attrs.get("axis", 0)})
    concat(s, inner)


@ms_rule("QGemm")
def _qgemm(s: Scope, n: Node) -> None:
    a, b = s.shape(in_name(n, 0)), s.shape(in_name(n, 3))
    m = a[1 if n.attrs.get("transA", 0) else 0] if a is not None and len(a) == 2 else None
    k = b[0 if n.attrs.get("transB", 0) else 1] if b is not None and len(b) == 2 else None
    dtype = s.dtype(in_name(n, 8)) if in_name(n, 8) else "float32"  # float without y_zero_point
    s.set(out_name(n), dtype, (m, k))


@ms_rule("DynamicQuantizeLSTM")
def _dynamic_quantize_lstm(s: Scope, n: Node) -> None:
    x, r = s.shape(in_name(n, 0)), s.shape(in_name(n, 2))  # R is [D, H, 4H]
    hidden = n.attrs.get("hidden_size", r[1] if r is not None and len(r) == 3 else None)
    dirs = 2 if n.attrs.get("direction", "forward") == "bidirectional" else 1
    seq, batch = (x[0], x[1]) if x is not None and len(x) == 3 else (None, None)
    s.set(out_name(n), "float32", (seq, dirs, batch, hidden))
    for i in (1, 2):
        s.set(out_name(n, i), "float32", (dirs, batch, hidden))


# ---- data-dependent and generators -----------------------------------------------------------
@rule("NonZero")
def _nonzero(s: Scope, n: Node) -> None:
    s.set(out_name(n), "int64", (rank_of(s.shape(in_name(n, 0))), s.new_symbol()))


@rule("NonMaxSuppression")
def _nms(s: Scope, n: Node) -> None:
    s.set(out_name(n), "int64", (s.new_symbol(), 3))


@rule("Compress")
def _compress(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    axis = n.attrs.get("axis")
    if axis is None:
        s.set(out_name(n), x.dtype, (s.new_symbol(),))
    elif x.shape is None:
        s.set(out_name(n), x.dtype, None)
    else:
        ax = norm_axis(axis, len(x.shape))
        s.set(
            out_name(n),
            x.dtype,
            tuple(s.new_symbol() if i == ax else d for i, d in enumerate(x.shape)),
        )


@rule("Unique")
def _unique(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    count = s.new_symbol()
    axis = n.attrs.get("axis")
    if axis is None:
        s.set(out_name(n), x.dtype, (count,))
        inverse: Shape = (dims_product(x.shape) if x.shape is not None else None,)
    elif x.shape is None or (ax := norm_axis(axis, len(x.shape))) is None:
        s.set(out_name(n), x.dtype, None)
        inverse = (None,)
    else:
        s.set(out_name(n), x.dtype, tuple(count if i == ax else d for i, d in enumerate(x.shape)))
        inverse = (x.shape[ax],)
    s.set(out_name(n, 1), "int64", (count,))
    s.set(out_name(n, 2), "int64", inverse)
    s.set(out_name(n, 3), "int64", (count,))


@rule("OneHot")
def _one_hot(s: Scope, n: Node) -> None:
    idx = s.shape(in_name(n, 0))
    depth = s.numbers(in_name(n, 1))
    dtype = s.dtype(in_name(n, 2))
    if idx is None:
        s.set(out_name(n), dtype, None)
        return
    rank = len(idx) + 1
    axis = norm_axis(n.attrs.get("axis", -1), rank)
    d: Dim = int(depth[0]) if depth else None
    shape = list(idx)
    shape.insert(axis if axis is not None else rank - 1, d)
    s.set(out_name(n), dtype, tuple(shape))


@rule("EyeLike", "RandomNormalLike", "RandomUniformLike", "Bernoulli")
def _like(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(
        out_name(n), dtype_from_onnx(n.attrs["dtype"]) if "dtype" in n.attrs else x.dtype, x.shape
    )


@rule("RandomNormal", "RandomUniform")
def _random(s: Scope, n: Node) -> None:
    shape = n.attrs.get("shape")
    s.set(out_name(n), dtype_from_onnx(n.attrs.get("dtype", 1)), tuple(shape) if shape else None)


@rule("Multinomial")
def _multinomial(s: Scope, n: Node) -> None:
    x = s.shape(in_name(n, 0))
    batch = x[0] if x else None
    dtype = dtype_from_onnx(n.attrs.get("dtype", 6))
    s.set(out_name(n), dtype, (batch, n.attrs.get("sample_size", 1)))
