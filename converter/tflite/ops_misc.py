"""Softmax-like, comparison/selection, cast, arg-reductions, splitting/stacking/slicing/gathering
and depth<->space TFLite ops, mapped to ONNX ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...refimpl.dtypes import ONNX_TYPE_CODES
from .context import Context, Converter, Unsupported
from .ops_conv import TO_NCHW, TO_NHWC
from .ops_indexing import gather, mirror_pad, select
from .reader import Operator

_ONNX_CODE = {name: code for code, name in ONNX_TYPE_CODES.items()}
INT_MAX = np.iinfo(np.int64).max


def _out(ctx: Context, op: Operator, k: int = 0) -> list[str]:
    return [ctx.names[op.outputs[k]]]


def _ints(ctx: Context, index: int, what: str) -> list[int]:
    value = np.asarray(ctx.const(index, what))
    if value.dtype.kind not in "iu":
        raise Unsupported(f"its {what} is {value.dtype}, not integers")
    return [int(v) for v in value.reshape(-1)]


def _rank(ctx: Context, index: int) -> int:
    return len(ctx.tensor(index).shape)


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise Unsupported(f"axis {axis} is outside a rank-{rank} tensor")
    return axis + rank if axis < 0 else axis


def softmax(ctx: Context, op: Operator) -> None:
    x = ctx.name(op.inputs[0])
    beta = float(op.options.get("beta", 1.0))
    if beta != 1.0:  # softmax(beta * x)
        x = ctx.emit("Mul", [x, ctx.scalar(beta)])
    ctx.emit("Softmax", [x], _out(ctx, op), axis=-1)


def log_softmax(ctx: Context, op: Operator) -> None:
    ctx.emit("LogSoftmax", [ctx.name(op.inputs[0])], _out(ctx, op), axis=-1)


def gelu(ctx: Context, op: Operator) -> None:
    mode = "tanh" if op.options.get("approximate") else "none"
    ctx.emit("Gelu", [ctx.name(op.inputs[0])], _out(ctx, op), approximate=mode)


def l2_normalization(ctx: Context, op: Operator) -> None:
    # reference_ops::L2Normalization: x / max(sqrt(sum(x^2 over the last axis)), 1e-6)
    x = ctx.name(op.inputs[0])
    norm = ctx.emit("ReduceL2", [x, ctx.int64s([-1])], keepdims=1)
    norm = ctx.emit("Max", [norm, ctx.scalar(1e-6)])
    y = ctx.emit("Div", [x, norm])
    ctx.activate(y, int(op.options.get("fused_activation_function", 0)), _out(ctx, op)[0])


def _compare(op_type: str, negate: bool = False) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        inputs = [ctx.name(op.inputs[0]), ctx.name(op.inputs[1])]
        if negate:
            ctx.emit("Not", [ctx.emit(op_type, inputs)], _out(ctx, op))
        else:
            ctx.emit(op_type, inputs, _out(ctx, op))

    return convert


def _logical(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        ctx.emit(op_type, [ctx.name(i) for i in op.inputs], _out(ctx, op))

    return convert


def select_v2(ctx: Context, op: Operator) -> None:
    ctx.emit("Where", [ctx.name(i) for i in op.inputs[:3]], _out(ctx, op))


def cast(ctx: Context, op: Operator) -> None:
    to = ctx.tensor(op.outputs[0]).dtype
    if to not in _ONNX_CODE:
        raise Unsupported(f"a cast to {to}")
    ctx.emit("Cast", [ctx.name(op.inputs[0])], _out(ctx, op), to=_ONNX_CODE[to])


def _arg(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        (axis,) = _ints(ctx, op.inputs[1], "axis")
        axis = _axis(axis, _rank(ctx, op.inputs[0]))
        out = ctx.tensor(op.outputs[0]).dtype
        if out == "int64":
            ctx.emit(op_type, [ctx.name(op.inputs[0])], _out(ctx, op), axis=axis, keepdims=0)
            return
        index = ctx.emit(op_type, [ctx.name(op.inputs[0])], axis=axis, keepdims=0)
        if out not in _ONNX_CODE:
            raise Unsupported(f"an index output of type {out}")
        ctx.emit("Cast", [index], _out(ctx, op), to=_ONNX_CODE[out])

    return convert


def _split_into(ctx: Context, op: Operator, x: int, axis: int, sizes: list[int]) -> None:
    outputs = [ctx.names[o] for o in op.outputs]
    if len(sizes) != len(outputs):
        raise Unsupported(f"{len(sizes)} parts for {len(outputs)} outputs")
    ctx.emit("Split", [ctx.name(x), ctx.int64s(sizes)], outputs, axis=axis)


def split(ctx: Context, op: Operator) -> None:
    (axis,) = _ints(ctx, op.inputs[0], "axis")  # SPLIT's inputs are (axis, x)
    x = op.inputs[1]
    axis = _axis(axis, _rank(ctx, x))
    n = int(op.options.get("num_splits", len(op.outputs)))
    size = ctx.tensor(x).shape[axis]
    if n < 1 or size % n:
        raise Unsupported(f"{n} equal parts of a dim of {size}")
    _split_into(ctx, op, x, axis, [size // n] * n)


def split_v(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    sizes = _ints(ctx, op.inputs[1], "size_splits")
    (axis,) = _ints(ctx, op.inputs[2], "axis")
    axis = _axis(axis, _rank(ctx, x))
    total = ctx.tensor(x).shape[axis]
    if sizes.count(-1) == 1:  # one part takes what the others leave
        sizes[sizes.index(-1)] = total - (sum(sizes) + 1)
    if sum(sizes) != total or min(sizes) < 0:
        raise Unsupported(f"size_splits {sizes} for a dim of {total}")
    _split_into(ctx, op, x, axis, sizes)


def slice_(ctx: Context, op: Operator) -> None:
    begin = _ints(ctx, op.inputs[1], "begin")
    size = _ints(ctx, op.inputs[2], "size")
    ends = [INT_MAX if s == -1 else b + s for b, s in zip(begin, size)]
    inputs = [ctx.name(op.inputs[0]), ctx.int64s(begin), ctx.int64s(ends)]
    ctx.emit("Slice", [*inputs, ctx.int64s(list(range(len(begin))))], _out(ctx, op))


def pack(ctx: Context, op: Operator) -> None:
    axis = _axis(int(op.options.get("axis", 0)), _rank(ctx, op.inputs[0]) + 1)
    parts = [ctx.emit("Unsqueeze", [ctx.name(i), ctx.int64s([axis])]) for i in op.inputs]
    ctx.emit("Concat", parts, _out(ctx, op), axis=axis)


def unpack(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    axis = _axis(int(op.options.get("axis", 0)), _rank(ctx, x))
    n = ctx.tensor(x).shape[axis]
    if n != len(op.outputs):
        raise Unsupported(f"{len(op.outputs)} outputs for a dim of {n}")
    parts = [ctx.fresh(f"unpack_{op.index}") for _ in range(n)]
    ctx.emit("Split", [ctx.name(x), ctx.int64s([1] * n)], parts, axis=axis)
    for k, part in enumerate(parts):
        ctx.emit("Squeeze", [part, ctx.int64s([axis])], _out(ctx, op, k))


def tile(ctx: Context, op: Operator) -> None:
    multiples = _ints(ctx, op.inputs[1], "multiples")
    ctx.emit("Tile", [ctx.name(op.inputs[0]), ctx.int64s(multiples)], _out(ctx, op))


def broadcast_to(ctx: Context, op: Operator) -> None:
    shape = _ints(ctx, op.inputs[1], "shape")
    ctx.emit("Expand", [ctx.name(op.inputs[0]), ctx.int64s(shape)], _out(ctx, op))


def _depth_space(op_type: str) -> Converter:
    # TFLite's NHWC DEPTH_TO_SPACE puts depth index (i * block + j) * C_out + c at (h*b+i, w*b+j):
    # ONNX's DCR order, after the NCHW transpose (SPACE_TO_DEPTH is its inverse)
    def convert(ctx: Context, op: Operator) -> None:
        if _rank(ctx, op.inputs[0]) != 4:
            raise Unsupported("a non-4-D input")
        block = int(op.options.get("block_size", 0))
        if block < 1:
            raise Unsupported(f"block size {block}")
        x = ctx.emit("Transpose", [ctx.name(op.inputs[0])], perm=TO_NCHW)
        attrs: dict[str, Any] = {"blocksize": block}
        if op_type == "DepthToSpace":
            attrs["mode"] = "DCR"
        y = ctx.emit(op_type, [x], **attrs)
        ctx.emit("Transpose", [y], _out(ctx, op), perm=TO_NHWC)

    return convert


CONVERTERS: dict[str, Converter] = {
    "SOFTMAX": softmax,
    "LOG_SOFTMAX": log_softmax,
    "GELU": gelu,
    "L2_NORMALIZATION": l2_normalization,
    "LESS": _compare("Less"),
    "LESS_EQUAL": _compare("LessOrEqual"),
    "GREATER": _compare("Greater"),
    "GREATER_EQUAL": _compare("GreaterOrEqual"),
    "EQUAL": _compare("Equal"),
    "NOT_EQUAL": _compare("Equal", negate=True),
    "LOGICAL_AND": _logical("And"),
    "LOGICAL_OR": _logical("Or"),
    "LOGICAL_NOT": _logical("Not"),
    "SELECT_V2": select_v2,
    "SELECT": select,
    "CAST": cast,
    "ARG_MAX": _arg("ArgMax"),
    "ARG_MIN": _arg("ArgMin"),
    "SPLIT": split,
    "SPLIT_V": split_v,
    "SLICE": slice_,
    "GATHER": gather,
    "PACK": pack,
    "UNPACK": unpack,
    "TILE": tile,
    "BROADCAST_TO": broadcast_to,
    "DEPTH_TO_SPACE": _depth_space("DepthToSpace"),
    "SPACE_TO_DEPTH": _depth_space("SpaceToDepth"),
    "MIRROR_PAD": mirror_pad,
}


def strided_slice(ctx: Context, op: Operator) -> None:
    """TF's strided slice (numpy basic indexing: masks, ellipsis, new and shrunk axes) as one ONNX
    Slice over every input dim followed by a Reshape to the indexed shape."""
    x = op.inputs[0]
    shape = ctx.tensor(x).shape
    if (
        ctx.tensor(x).shape_signature is not None
        and min(ctx.tensor(x).shape_signature, default=0) < 0
    ):
        raise Unsupported("a dynamic input shape")
    begin, end = _ints(ctx, op.inputs[1], "begin"), _ints(ctx, op.inputs[2], "end")
    strides = _ints(ctx, op.inputs[3], "strides") if len(op.inputs) > 3 else [1] * len(begin)
    if not len(begin) == len(end) == len(strides) or 0 in strides:
        raise Unsupported(f"begin {begin}, end {end}, strides {strides}")
    o = op.options
    if o.get("offset"):
        end = [b + e for b, e in zip(begin, end)]
    bit = {k: int(o.get(k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                         "new_axis_mask", "shrink_axis_mask")}  # fmt: skip
    index: list = []
    seen_ellipsis = False
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if bit["ellipsis_mask"] >> i & 1 and not seen_ellipsis:
            index.append(Ellipsis)
            seen_ellipsis = True
        elif bit["new_axis_mask"] >> i & 1:
            index.append(None)
        elif bit["shrink_axis_mask"] >> i & 1:
            index.append(b)
        else:
            index.append(slice(None if bit["begin_mask"] >> i & 1 else b,
                               None if bit["end_mask"] >> i & 1 else e, s))  # fmt: skip
    dummy = np.broadcast_to(np.empty((), np.bool_), shape)  # no memory: zero strides
    try:
        out_shape = dummy[tuple(index)].shape
    except IndexError as err:
        raise Unsupported(f"an index outside the input ({err})") from None
    # the per-input-dim slices, in the order numpy applies them
    consumed = sum(1 for item in index if item is not None and item is not Ellipsis)
    per_dim: list[slice] = []
    for item in index:
        if item is Ellipsis:
            per_dim += [slice(None)] * (len(shape) - consumed)
        elif isinstance(item, int):
            k = item + shape[len(per_dim)] if item < 0 else item
            per_dim.append(slice(k, k + 1, 1))
        elif item is not None:
            per_dim.append(item)
    per_dim += [slice(None)] * (len(shape) - len(per_dim))
    starts, ends, steps = [], [], []
    for dim, sl in zip(shape, per_dim):
        start, stop, step = sl.indices(dim)
        starts.append(start)
        # a negative step stopping before index 0: ONNX reads -1 as "the last element"
        ends.append(np.iinfo(np.int64).min if step < 0 and stop < 0 else stop)
        steps.append(step)
    axes = list(range(len(shape)))
    y = ctx.emit("Slice", [ctx.name(x), ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes),
                           ctx.int64s(steps)])  # fmt: skip
    ctx.emit("Reshape", [y, ctx.int64s(list(out_shape))], _out(ctx, op))


def _resize(mode: str) -> Converter:
    """RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR (NHWC, new [H, W] from a constant) as ONNX Resize
    over axes 1 and 2. TFLite's coordinate rules (reference_ops ResizeBilinear /
    ResizeNearestNeighbor): align_corners scales by (in-1)/(out-1); half_pixel_centers maps
    (o + 0.5) * in/out - 0.5 for bilinear, floor((o + 0.5) * in/out) for nearest (= ONNX
    half_pixel rounded with round_prefer_ceil, then clamped at 0 as TFLite does); neither:
    o * in/out, floored for nearest; align_corners nearest rounds half away from zero
    (round_prefer_ceil on these non-negative coordinates)."""

    def convert(ctx: Context, op: Operator) -> None:
        if _rank(ctx, op.inputs[0]) != 4:
            raise Unsupported("a non-4-D input")
        size = _ints(ctx, op.inputs[1], "size")
        if len(size) != 2 or min(size) < 1:
            raise Unsupported(f"size {size}")
        align = bool(op.options.get("align_corners"))
        half = bool(op.options.get("half_pixel_centers"))
        if align and half:
            raise Unsupported("align_corners with half_pixel_centers")
        attrs: dict = {"mode": mode, "axes": [1, 2]}
        if mode == "linear":
            attrs["coordinate_transformation_mode"] = (
                "align_corners" if align else "half_pixel" if half else "asymmetric"
            )
        else:
            attrs["coordinate_transformation_mode"] = (
                "align_corners" if align else "half_pixel" if half else "asymmetric"
            )
            attrs["nearest_mode"] = "round_prefer_ceil" if align or half else "floor"
        inputs = [ctx.name(op.inputs[0]), "", "", ctx.int64s(size)]
        ctx.emit("Resize", inputs, _out(ctx, op), **attrs)

    return convert


CONVERTERS.update(
    {
        "STRIDED_SLICE": strided_slice,
        "RESIZE_BILINEAR": _resize("linear"),
        "RESIZE_NEAREST_NEIGHBOR": _resize("nearest"),
    }
)
