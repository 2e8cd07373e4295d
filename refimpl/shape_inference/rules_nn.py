"""Rules for network layers: MatMul/Gemm/Einsum, convolution, pooling, normalisation, RNNs."""

from __future__ import annotations

from collections import Counter

from ..ir import Dim, Node
from .scope import Rule, Scope, dtype_from_onnx, in_name, norm_axis, out_name, rank_of, rule_table
from .symbolic import (
    Shape,
    broadcast_dim,
    broadcast_shapes,
    dim_add,
    dim_ceildiv,
    dim_floordiv,
    dim_mul,
    dim_sub,
    is_num,
)

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy matmul: 1-D operands promoted and the added dim dropped; batch dims broadcast."""
    if a is None or b is None or not a or not b:
        return None
    aa = (1,) + a if len(a) == 1 else a
    bb = b + (1,) if len(b) == 1 else b
    batch = broadcast_shapes(aa[:-2], bb[:-2]) or ()
    out = batch + (aa[-2], bb[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


@rule("MatMul", "MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat", "DynamicQuantizeMatMul")
def _matmul(s: Scope, n: Node) -> None:
    b_at = 3 if n.op_type == "QLinearMatMul" else 1
    shape = matmul_shape(s.shape(in_name(n, 0)), s.shape(in_name(n, b_at)))
    dtype: str | None
    if n.op_type == "MatMulInteger":
        dtype = "int32"
    elif n.op_type == "QLinearMatMul":
        dtype = s.dtype(in_name(n, 7)) or s.dtype(in_name(n, 0))
    elif n.op_type in ("MatMulIntegerToFloat", "DynamicQuantizeMatMul"):
        dtype = s.dtype(in_name(n, 2)) or "float32"
    else:
        dtype = s.dtype(in_name(n, 0))
    s.set(out_name(n), dtype, shape)


@rule("Gemm")
def _gemm(s: Scope, n: Node) -> None:
    a, b = s.value(in_name(n, 0)), s.shape(in_name(n, 1))
    m = k = None
    if a.shape is not None and len(a.shape) == 2:
        m = a.shape[1] if n.attrs.get("transA", 0) else a.shape[0]
    if b is not None and len(b) == 2:
        k = b[0] if n.attrs.get("transB", 0) else b[1]
    s.set(out_name(n), a.dtype, (m, k))


@rule("Einsum")
def _einsum(s: Scope, n: Node) -> None:
    shapes = [s.shape(i) for i in n.inputs if i]
    dtype = s.dtype(in_name(n, 0))
    s.set(out_name(n), dtype, _einsum_shape(str(n.attrs.get("equation", "")), shapes))


def _einsum_shape(equation: str, shapes: list[Shape]) -> Shape:
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        return None
    sizes: dict[str, Dim] = {}
    dots_shapes: list[Shape] = []
    for term, shape in zip(terms, shapes):
        letters = term.replace("...", "")
        if shape is None or len(shape) < len(letters):
            return None
        if "..." in term:
            at, extra = term.index("..."), len(shape) - len(letters)
            dots_shapes.append(shape[at : at + extra])
            shape = shape[:at] + shape[at + extra :]
        elif len(letters) != len(shape):
            return None
        for letter, d in zip(letters, shape):
            sizes[letter] = broadcast_dim(sizes[letter], d) if letter in sizes else d
    if not arrow:
        counts = Counter(lhs.replace("...", "").replace(",", ""))
        rhs = ("..." if dots_shapes else "") + "".join(
            sorted(c for c, k in counts.items() if k == 1)
        )
    before, dots_at, after = rhs.partition("...")
    dots = broadcast_shapes(*dots_shapes) if dots_shapes else ()
    if dots_at and dots is None:
        return None
    middle = tuple(dots or ()) if dots_at else ()
    return tuple(sizes.get(c) for c in before) + middle + tuple(sizes.get(c) for c in after)


@rule("Det")
def _det(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, None if x.shape is None else x.shape[:-2])


# ---- convolution and pooling -----------------------------------------------------------------
def _window_dims(n: Node, spatial: tuple[Dim, ...], kernel: list[Dim]) -> list[Dim]:
    ns = len(spatial)
    strides = n.attrs.get("strides") or [1] * ns
    dilations = n.attrs.get("dilations") or [1] * ns
    pads = n.attrs.get("pads") or [0] * (2 * ns)
    auto = n.attrs.get("auto_pad", "NOTSET")
    ceil = n.attrs.get("ceil_mode", 0)
    out: list[Dim] = []
    for i, d in enumerate(spatial):
        st = strides[i]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(dim_ceildiv(d, st))
            continue
        k = kernel[i] if i < len(kernel) else None
        if not is_num(k):
            out.append(None)
            continue
        begin, end = (0, 0) if auto == "VALID" else (pads[i], pads[i + ns])
        span = (int(k) - 1) * dilations[i] + 1  # type: ignore[arg-type]
        room = dim_add(d, begin + end - span)
        o = dim_add((dim_ceildiv if ceil else dim_floordiv)(room, st), 1)
        if ceil and is_num(o) and is_num(d) and (o - 1) * st >= d + begin:  # type: ignore[operator]
            o -= 1  # type: ignore[operator]  # the last window may not start in the padding
        out.append(o)
    return out


def _conv_like(s: Scope, n: Node, x_at: int, w_at: int, dtype: str | None) -> None:
    x, w = s.shape(in_name(n, x_at)), s.shape(in_name(n, w_at))
    rank = rank_of(x) if x is not None else rank_of(w)
    if rank is None or rank < 3:
        s.set(out_name(n), dtype, None)
        return
    x = x if x is not None else (None,) * rank
    kernel = n.attrs.get("kernel_shape") or (list(w[2:]) if w is not None else [None] * (rank - 2))
    cout = w[0] if w is not None else None
    s.set(out_name(n), dtype, (x[0], cout, *_window_dims(n, x[2:], kernel)))


@rule("Conv", "FusedConv", "NhwcFusedConv")
def _conv(s: Scope, n: Node) -> None:
    _conv_like(s, n, 0, 1, s.dtype(in_name(n, 0)))


@rule("FusedConvPair")
def _conv_pair(s: Scope, n: Node) -> None:
    """The second conv's window over the first's (both read their kernels from the weights)."""
    x, w1, w2 = s.shape(in_name(n, 0)), s.shape(in_name(n, 1)), s.shape(in_name(n, 3))
    if x is None or w1 is None or w2 is None or len(x) != len(w1) or len(x) != len(w2):
        s.set(out_name(n), s.dtype(in_name(n, 0)), None)
        return
    first = Node("Conv", [], [], {k: n.attrs[k] for k in ("pads", "strides") if k in n.attrs})
    second = Node("Conv", [], [], {"pads": n.attrs["second_pads"]} if "second_pads" in n.attrs
                  else {})  # fmt: skip
    t = _window_dims(first, x[2:], list(w1[2:]))
    s.set(out_name(n), s.dtype(in_name(n, 0)), (x[0], w2[0], *_window_dims(second, tuple(t),
                                                                        list(w2[2:]))))


@rule("ConvInteger")
def _conv_integer(s: Scope, n: Node) -> None:
    _conv_like(s, n, 0, 1, "int32")


@rule("QLinearConv")
def _qlinear_conv(s: Scope, n: Node) -> None:
    _conv_like(s, n, 0, 3, s.dtype(in_name(n, 7)) or s.dtype(in_name(n, 0)))


@rule("ConvTranspose")
def _conv_transpose(s: Scope, n: Node) -> None:
    x, w = s.value(in_name(n, 0)), s.shape(in_name(n, 1))
    rank = rank_of(x.shape) if x.shape is not None else rank_of(w)
    if rank is None or rank < 3:
        s.set(out_name(n), x.dtype, None)
        return
    xs = x.shape if x.shape is not None else (None,) * rank
    ns = rank - 2
    group = n.attrs.get("group", 1)
    cout = dim_mul(w[1], group) if w is not None else None
    kernel = n.attrs.get("kernel_shape") or (list(w[2:]) if w is not None else [None] * ns)
    strides = n.attrs.get("strides") or [1] * ns
    dil = n.attrs.get("dilations") or [1] * ns
    out_pad = n.attrs.get("output_padding") or [0] * ns
    pads = n.attrs.get("pads") or [0] * (2 * ns)
    auto = n.attrs.get("auto_pad", "NOTSET")
    if n.attrs.get("output_shape"):
        spatial: list[Dim] = list(n.attrs["output_shape"])[-ns:]
    else:
        spatial = []
        for i in range(ns):
            d, k = xs[2 + i], kernel[i]
            if auto in ("SAME_UPPER", "SAME_LOWER"):
                spatial.append(dim_mul(d, strides[i]))
            elif not is_num(k):
                spatial.append(None)
            else:
                span = (int(k) - 1) * dil[i] + 1
                cut = 0 if auto == "VALID" else pads[i] + pads[i + ns]
                grown = dim_mul(dim_sub(d, 1), strides[i])
                spatial.append(dim_add(grown, out_pad[i] + span - cut))
    s.set(out_name(n), x.dtype, (xs[0], cout, *spatial))


@rule("MaxPool", "AveragePool", "LpPool", "QLinearAveragePool")
def _pool(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    kernel = n.attrs.get("kernel_shape") or []
    if x.shape is None or len(x.shape) < 3:
        s.set(out_name(n), x.dtype, None)
        s.set(out_name(n, 1), "int64", None)
        return
    if n.attrs.get("channels_last"):
        spatial = _window_dims(n, x.shape[1:-1], kernel)
        shape: Shape = (x.shape[0], *spatial, x.shape[-1])
    else:
        shape = (x.shape[0], x.shape[1], *_window_dims(n, x.shape[2:], kernel))
    s.set(out_name(n), x.dtype, shape)
    s.set(out_name(n, 1), "int64", shape)


@rule("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "QLinearGlobalAveragePool")
def _global_pool(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    if x.shape is None or len(x.shape) < 2:
        s.set(out_name(n), x.dtype, None)
    elif n.attrs.get("channels_last"):
        s.set(out_name(n), x.dtype, (x.shape[0],) + (1,) * (len(x.shape) - 2) + (x.shape[-1],))
    else:
        s.set(out_name(n), x.dtype, x.shape[:2] + (1,) * (len(x.shape) - 2))


@rule("MaxRoiPool", "RoiAlign")
def _roi(s: Scope, n: Node) -> None:
    x, rois = s.shape(in_name(n, 0)), s.shape(in_name(n, 1))
    if n.op_type == "MaxRoiPool":
        size = list(n.attrs.get("pooled_shape") or [None, None])
    else:
        size = [n.attrs.get("output_height", 1), n.attrs.get("output_width", 1)]
    num = rois[0] if rois else None
    s.set(out_name(n), s.dtype(in_name(n, 0)), (num, x[1] if x and len(x) > 1 else None, *size))


@rule("GridSample")
def _grid_sample(s: Scope, n: Node) -> None:
    x, grid = s.shape(in_name(n, 0)), s.shape(in_name(n, 1))
    if x is None or grid is None:
        s.set(out_name(n), s.dtype(in_name(n, 0)), None)
        return
    s.set(out_name(n), s.dtype(in_name(n, 0)), (x[0], x[1], *grid[1:-1]))


# ---- normalisation ---------------------------------------------------------------------------
@rule("BatchNormalization")
def _batch_norm(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, x.shape)
    for i in range(1, len(n.outputs)):
        stat = s.value(in_name(n, 3 if i % 2 else 4))
        s.set(out_name(n, i), stat.dtype or x.dtype, stat.shape)


@rule("LayerNormalization")
def _layer_norm(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, x.shape)
    stash = dtype_from_onnx(n.attrs.get("stash_type", 1))
    stat: Shape = None
    if x.shape is not None:
        axis = norm_axis(n.attrs.get("axis", -1), len(x.shape))
        stat = tuple(1 if axis is not None and i >= axis else d for i, d in enumerate(x.shape))
    for i in (1, 2):
        s.set(out_name(n, i), stash, stat)


@rule("PackedAttention")  # gossamer::PackedAttention: qkv [B, S, 3E] -> [B, S, E]
def _packed_attention(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    e: Shape = None
    if x.shape is not None and len(x.shape) == 3:
        e = (*x.shape[:2], dim_floordiv(x.shape[2], 3))
    s.set(out_name(n), x.dtype, e)


# ---- recurrent -------------------------------------------------------------------------------
@rule("LSTM", "GRU", "RNN")
def _recurrent(s: Scope, n: Node) -> None:
    x, w = s.value(in_name(n, 0)), s.shape(in_name(n, 1))
    hidden = n.attrs.get("hidden_size")
    directions = 2 if n.attrs.get("direction", "forward") == "bidirectional" else 1
    if hidden is None and w is not None and len(w) == 3:
        hidden = dim_floordiv(w[1], {"LSTM": 4, "GRU": 3}.get(n.op_type, 1))
    seq = batch = None
    layout = n.attrs.get("layout", 0)
    if x.shape is not None and len(x.shape) == 3:
        seq, batch = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
    if layout:
        s.set(out_name(n), x.dtype, (batch, seq, directions, hidden))
        state: Shape = (batch, directions, hidden)
    else:
        s.set(out_name(n), x.dtype, (seq, directions, batch, hidden))
        state = (directions, batch, hidden)
    for i in range(1, len(n.outputs)):
        s.set(out_name(n, i), x.dtype, state)


@rule("MaxUnpool")
def _max_unpool(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    target = s.sym(in_name(n, 2)) if in_name(n, 2) else None
    if target is not None:
        s.set(out_name(n), x.dtype, tuple(target.elems))
        return
    if x.shape is None:
        s.set(out_name(n), x.dtype, None)
        return
    ns = len(x.shape) - 2
    kernel = n.attrs.get("kernel_shape") or [None] * ns
    strides = n.attrs.get("strides") or [1] * ns
    pads = n.attrs.get("pads") or [0] * (2 * ns)
    spatial = [
        dim_add(dim_mul(dim_sub(d, 1), strides[i]), (kernel[i] or 0) - pads[i] - pads[i + ns])
        if kernel[i]
        else None
        for i, d in enumerate(x.shape[2:])
    ]
    s.set(out_name(n), x.dtype, (*x.shape[:2], *spatial))
