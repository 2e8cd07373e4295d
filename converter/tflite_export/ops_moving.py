"""ONNX ops that move values without arithmetic -> TFLite builtins, on any dtype (exact on
integers: a quantised value keeps its parameters). Axis operands follow the value's physical
layout (context.py), so a Concat / Slice / Pad of NHWC-laid NCHW values needs no TRANSPOSE."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Node
from .context import ExportContext, Refused, identity
from .ops_tflite import version

INTEGER = ("int8", "uint8", "int16")


def axis_of(ctx: ExportContext, node: Node, name: str, default: int = 0) -> int:
    rank = ctx.rank(name)
    axis = int(node.attrs.get("axis", default))
    if not -rank <= axis < rank:
        raise Refused(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def identity_(ctx: ExportContext, node: Node) -> None:
    x = node.inputs[0]
    if ctx.is_const(x):
        ctx.consts[node.outputs[0]] = ctx.const(x)
        return
    ctx.alias(node.outputs[0], x, identity(ctx.rank(x)))


def transpose(ctx: ExportContext, node: Node) -> None:
    """No operator: the output is the input read with other axes (a TRANSPOSE is written only
    where a consumer needs the layout)."""
    x = node.inputs[0]
    rank = ctx.rank(x)
    perm = tuple(int(p) % rank for p in (node.attrs.get("perm") or range(rank - 1, -1, -1)))
    if ctx.is_const(x):
        ctx.consts[node.outputs[0]] = np.transpose(ctx.const(x), perm)
        return
    ctx.alias(node.outputs[0], x, perm)


def reshape(ctx: ExportContext, node: Node) -> None:
    """Reshape, Flatten, Squeeze, Unsqueeze: a RESHAPE to the inferred output shape (one unknown
    dim at most, written -1)."""
    x, y = node.inputs[0], node.outputs[0]
    shape = [d if isinstance(d, int) else -1 for d in ctx.shape(y)]
    if shape.count(-1) > 1:
        raise Refused(f"output shape {list(ctx.shape(y))} has more than one unknown dim")
    new_shape = ctx.int32s(shape, "new_shape")
    ctx.emit("RESHAPE", [ctx.tensor(x), new_shape], [ctx.define(y)],
             ("ReshapeOptions", {"new_shape": shape}))  # fmt: skip


def requantised(ctx: ExportContext, name: str, target: str, perm: tuple[int, ...]) -> int:
    """`name`'s tensor in `perm`, requantised (QUANTIZE) to `target`'s params if they differ."""
    index = ctx.tensor(name, perm)
    if ctx.dtype(name) not in INTEGER:
        return index
    a, b = ctx.writer.tensors[index].quant, ctx.writer.tensors[ctx.tensor(target, perm)].quant
    if a is None or b is None:
        return index
    if np.array_equal(a.scales, b.scales) and np.array_equal(a.zero_points, b.zero_points):
        return index
    spec = ctx.writer.tensors[index]
    out = ctx.temp(f"{name}_requantised", spec.dtype, spec.shape, b)
    ctx.emit("QUANTIZE", [index], [out], None, 2)
    return out


def concat(ctx: ExportContext, node: Node) -> None:
    y = node.outputs[0]
    axis = axis_of(ctx, node, y)
    inputs = [i for i in node.inputs if i and 0 not in ctx.shape(i)]
    computed = [i for i in inputs if not ctx.is_const(i)]
    perm = ctx.layout(computed[0]) if computed else identity(ctx.rank(y))
    out = ctx.define(y, perm)
    tensors = [requantised(ctx, i, y, perm) for i in inputs]
    opts = {"axis": list(perm).index(axis), "fused_activation_function": 0}
    ctx.emit("CONCATENATION", tensors, [out], ("ConcatenationOptions", opts), version(ctx, y))


def _ints(ctx: ExportContext, node: Node, index: int, what: str) -> list[int] | None:
    if len(node.inputs) <= index or not node.inputs[index]:
        return None
    return [int(v) for v in ctx.const(node.inputs[index], what).reshape(-1)]


def slice_(ctx: ExportContext, node: Node) -> None:
    """ONNX Slice -> STRIDED_SLICE with the bounds resolved against the static input shape."""
    x, y = node.inputs[0], node.outputs[0]
    shape = ctx.static_shape(x)
    rank = len(shape)
    starts, ends = _ints(ctx, node, 1, "starts"), _ints(ctx, node, 2, "ends")
    axes = _ints(ctx, node, 3, "axes") or list(range(len(starts or [])))
    steps = _ints(ctx, node, 4, "steps") or [1] * len(axes)
    begin, end, stride, end_open = [0] * rank, list(shape), [1] * rank, [False] * rank
    for s, e, a, st in zip(starts or [], ends or [], axes, steps):
        a %= rank
        begin[a], end[a], stride[a] = slice(s, e, st).indices(shape[a])
        end_open[a] = stride[a] < 0 and end[a] < 0  # runs past index 0: TFLite's end mask
    perm = ctx.layout(x)
    mask = sum(1 << j for j, p in enumerate(perm) if end_open[p])
    inputs = [ctx.tensor(x, perm)] + [
        ctx.int32s([v[p] for p in perm], what)
        for v, what in ((begin, "begin"), (end, "end"), (stride, "strides"))
    ]
    opts = ("StridedSliceOptions", {"end_mask": mask})
    ctx.emit("STRIDED_SLICE", inputs, [ctx.define(y, perm)], opts, version(ctx, x))


def split(ctx: ExportContext, node: Node) -> None:
    x = node.inputs[0]
    axis = axis_of(ctx, node, x)
    sizes = _ints(ctx, node, 1, "split") or node.attrs.get("split")
    if not sizes:
        dim, n = ctx.static_shape(x)[axis], len(node.outputs)
        sizes = [-(-dim // n)] * (n - 1) + [dim - -(-dim // n) * (n - 1)]
    perm = ctx.layout(x)
    outs = []
    for o in node.outputs:
        outs.append(ctx.define(o, perm) if o else -1)
    if -1 in outs:
        raise Refused("an unnamed Split output")
    inputs = [ctx.tensor(x, perm), ctx.int32s(sizes, "size_splits"),
              ctx.int32s(list(perm).index(axis), "axis")]  # fmt: skip
    opts = ("SplitVOptions", {"num_splits": len(outs)})
    ctx.emit("SPLIT_V", inputs, outs, opts, version(ctx, x))


def pad(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    rank = ctx.rank(x)
    pads = _ints(ctx, node, 1, "pads") or list(node.attrs.get("pads") or [])
    axes = _ints(ctx, node, 3, "axes") or list(range(rank))
    table = np.zeros((rank, 2), np.int64)
    for k, a in enumerate(axes):
        table[a % rank] = pads[k], pads[k + len(axes)]
    if table.min() < 0:
        raise Refused("negative pads (cropping)")
    perm = ctx.layout(x)
    paddings = ctx.int32s(table[list(perm)], "paddings")
    mode = str(node.attrs.get("mode", "constant"))
    out = ctx.define(y, perm)
    if mode == "reflect":
        opts = ("MirrorPadOptions", {"mode": 0})
        ctx.emit("MIRROR_PAD", [ctx.tensor(x, perm), paddings], [out], opts, version(ctx, x))
        return
    if mode != "constant":
        raise Refused(f"Pad mode {mode!r} (TFLite pads with a constant or mirrors)")
    value = 0
    if len(node.inputs) > 2 and node.inputs[2]:
        value = ctx.const(node.inputs[2], "constant_value").reshape(-1)[0]
    q = ctx.quant_of(y)
    zero = int(np.asarray(q.zero_point).reshape(-1)[0]) if q is not None else 0
    if value == zero or (ctx.dtype(x) not in INTEGER and value == 0):
        ctx.emit("PAD", [ctx.tensor(x, perm), paddings], [out], None, version(ctx, x))
        return
    fill = ctx.add_const(np.array([value], ctx.dtype(x)), f"{node.name}/constant_values",
                         ctx.writer.tensors[out].quant)  # fmt: skip
    ctx.emit("PADV2", [ctx.tensor(x, perm), paddings, fill], [out], None, version(ctx, x))


def gather(ctx: ExportContext, node: Node) -> None:
    x, indices, y = node.inputs[0], node.inputs[1], node.outputs[0]
    axis = axis_of(ctx, node, x)
    if ctx.is_const(indices):
        idx = ctx.const(indices).astype(np.int64)
        idx = np.where(idx < 0, idx + ctx.static_shape(x)[axis], idx).astype(np.int32)
        index = ctx.add_const(idx, indices)
    else:
        index = ctx.tensor(indices)
    opts = ("GatherOptions", {"axis": axis, "batch_dims": 0})
    ctx.emit("GATHER", [ctx.tensor(x), index], [ctx.define(y)], opts, version(ctx, x))


CAST_TYPES = ("float32", "int32", "int64", "int8", "uint8", "int16", "bool", "float16")


def cast(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if ctx.dtype(y) not in CAST_TYPES:
        raise Refused(f"a cast to {ctx.dtype(y)}")
    perm = ctx.layout(x)
    ctx.emit("CAST", [ctx.tensor(x, perm)], [ctx.define(y, perm)])


def depth_space(code: str) -> object:
    """ONNX DepthToSpace (DCR) / SpaceToDepth on NCHW = TFLite's on NHWC."""

    def lower(ctx: ExportContext, node: Node) -> None:
        if str(node.attrs.get("mode", "DCR")) != "DCR":
            raise Refused("DepthToSpace mode CRD (TFLite's is DCR)")
        nhwc = (0, 2, 3, 1)
        x, y = node.inputs[0], node.outputs[0]
        opts = ("DepthToSpaceOptions" if code == "DEPTH_TO_SPACE" else "SpaceToDepthOptions",
                {"block_size": int(node.attrs["blocksize"])})  # fmt: skip
        ctx.emit(code, [ctx.tensor(x, nhwc)], [ctx.define(y, nhwc)], opts, version(ctx, x))

    return lower


def tile(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    repeats = _ints(ctx, node, 1, "repeats") or []
    perm = ctx.layout(x)
    multiples = ctx.int32s([repeats[p] for p in perm], "multiples")
    ctx.emit("TILE", [ctx.tensor(x, perm), multiples], [ctx.define(y, perm)])


def expand(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ctx.int32s(list(ctx.static_shape(y)), "shape")
    ctx.emit("BROADCAST_TO", [ctx.tensor(x), shape], [ctx.define(y)], None, 2)


LOWERINGS = {
    ("", "Identity"): identity_,
    ("", "Transpose"): transpose,
    ("", "Reshape"): reshape,
    ("", "Flatten"): reshape,
    ("", "Squeeze"): reshape,
    ("", "Unsqueeze"): reshape,
    ("", "Concat"): concat,
    ("", "Slice"): slice_,
    ("", "Split"): split,
    ("", "Pad"): pad,
    ("", "Gather"): gather,
    ("", "Cast"): cast,
    ("", "DepthToSpace"): depth_space("DEPTH_TO_SPACE"),
    ("", "SpaceToDepth"): depth_space("SPACE_TO_DEPTH"),
    ("", "Tile"): tile,
    ("", "Expand"): expand,
}
