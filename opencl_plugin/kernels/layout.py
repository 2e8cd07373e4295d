"""Transpose, Slice, Concat, Split, Gather (copy_strided_f32 / gather_f32 in layout.cl), and the
views Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (no launch: the output names the
input's storage)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...refimpl.ir import Node, Value
from ..builder import Builder, i32, row_major_strides
from ._checks import at_plan_time, float32_inputs, is_const

VIEWS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout")


def copy_strided(
    bld: Builder,
    src: Any,
    src_off: int,
    dst: Any,
    dst_off: int,
    shape: Any,
    sstr: Any,
    dstr: Any,
    tag: str,
) -> None:
    """dst[dst_off + c.dstr] = src[src_off + c.sstr] for every coordinate c of `shape`."""
    total = math.prod(shape)
    if total == 0:
        return
    shape, sstr, dstr = _merged(list(shape), list(sstr), list(dstr))
    last = shape[-1]
    chunk = min(last, 64)
    items = total // last * -(-last // chunk)
    geo = np.array([len(shape), *shape, *sstr, *dstr], np.int32)
    gbuf = bld.weight(f"::geo::{geo.tobytes().hex()}", geo, np.int32)
    args = [src, i32(src_off), dst, i32(dst_off), gbuf, i32(chunk), i32(items)]
    bld.launch("copy_strided_f32", (items,), args)


def _merged(shape: list, sstr: list, dstr: list) -> tuple[list, list, list]:
    """Drops axes of length 1 and merges neighbours that are contiguous in both layouts."""
    keep = [a for a in range(len(shape)) if shape[a] != 1] or [len(shape) - 1]
    shape, sstr, dstr = [shape[a] for a in keep], [sstr[a] for a in keep], [dstr[a] for a in keep]
    out_shape, out_s, out_d = [shape[0]], [sstr[0]], [dstr[0]]
    for n, s, d in zip(shape[1:], sstr[1:], dstr[1:]):
        if out_s[-1] == s * n and out_d[-1] == d * n:
            out_shape[-1] *= n
            out_s[-1], out_d[-1] = s, d
        else:
            out_shape.append(n)
            out_s.append(s)
            out_d.append(d)
    return out_shape, out_s, out_d


def transpose_into(bld: Builder, src: Any, shape: tuple, perm: tuple, tag: str) -> Any:
    out_shape = tuple(shape[p] for p in perm)
    dst = bld.scratch(tag, math.prod(out_shape))
    st = row_major_strides(shape)
    copy_strided(
        bld, src, 0, dst, 0, out_shape, [st[p] for p in perm], row_major_strides(out_shape), tag
    )
    return dst


def supports_float(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    return float32_inputs(inputs, 0)


def supports_view(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    if node.op_type == "Dropout" and len(node.outputs) > 1 and node.outputs[1]:
        return "Dropout mask output"
    for i, name in enumerate(node.inputs[1:], 1):  # shape / axes / ratio inputs: at plan time
        if not at_plan_time(consts, name, inputs[i]):
            return f"input {name!r} is neither constant nor an integer tensor"
    return None


def lower_view(bld: Builder, node: Node, opset: int) -> None:
    bld.view(node.outputs[0], node.inputs[0])


def lower_transpose(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    perm = node.attrs.get("perm") or list(range(len(shape)))[::-1]
    out = bld.out(node.outputs[0])
    st = row_major_strides(shape)
    out_shape = tuple(shape[p] for p in perm)
    copy_strided(
        bld,
        bld.ref(node.inputs[0]),
        0,
        out,
        0,
        out_shape,
        [st[p] for p in perm],
        row_major_strides(out_shape),
        "t",
    )


def lower_concat(bld: Builder, node: Node, opset: int) -> None:
    out_shape = bld.shape(node.outputs[0])
    ax = int(node.attrs["axis"]) % len(out_shape)
    out, dst = bld.out(node.outputs[0]), row_major_strides(out_shape)
    offset = 0
    for i, name in enumerate(node.inputs):
        shape = bld.shape(name)
        copy_strided(
            bld,
            bld.ref(name),
            0,
            out,
            offset * dst[ax],
            shape,
            row_major_strides(shape),
            dst,
            f"c{i}",
        )
        offset += shape[ax]


def supports_split(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    if len(node.inputs) > 1 and not at_plan_time(consts, node.inputs[1], inputs[1]):
        return "split sizes are neither constant nor an integer tensor"
    return None


def lower_split(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    ax = int(node.attrs.get("axis", 0)) % len(shape)
    src, st = bld.ref(node.inputs[0]), row_major_strides(shape)
    offset = 0
    for i, name in enumerate(node.outputs):
        part = bld.shape(name)
        if name:
            copy_strided(
                bld,
                src,
                offset * st[ax],
                bld.out(name),
                0,
                part,
                st,
                row_major_strides(part),
                f"s{i}",
            )
        offset += part[ax]


def _slice_params(node: Node, consts: dict, opset: int) -> list[list[int]] | str | None:
    if opset < 10:
        a = node.attrs
        starts, ends = a.get("starts"), a.get("ends")
        axes, steps = a.get("axes"), None
    else:
        names = list(node.inputs[1:]) + [""] * 4
        if any(n and n not in consts for n in names[:4]):
            return "starts / ends / axes / steps are not constant"
        starts, ends, axes, steps = (
            [int(v) for v in consts[n].reshape(-1)] if n else None for n in names[:4]
        )
    if starts is None or ends is None:
        return "starts / ends missing"
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    if 0 in steps:
        return "step 0"
    return [list(starts), list(ends), axes, steps]


def supports_slice(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    params = zip(node.inputs[1:], inputs[1:])
    if opset >= 10 and not all(at_plan_time(consts, n, v) for n, v in params):
        return "starts / ends / axes / steps are neither constant nor integer tensors"
    if opset >= 10 and not all(n in consts for n in node.inputs[1:] if n):
        return None  # bounds known per plan (integer tensors from outside the partition)
    p = _slice_params(node, consts, opset)
    return p if isinstance(p, str) else None


def lower_slice(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    p = _slice_params(node, bld.constants, opset)
    assert isinstance(p, list)
    st = row_major_strides(shape)
    offset, sstr = 0, list(st)
    out_shape = list(shape)
    for start, end, axis, step in zip(*p):
        axis %= len(shape)
        begin, stop, stride = slice(start, end, step).indices(shape[axis])
        out_shape[axis] = len(range(begin, stop, stride))
        offset += begin * st[axis]
        sstr[axis] = stride * st[axis]
    assert tuple(out_shape) == bld.shape(node.outputs[0])
    out = bld.out(node.outputs[0])
    copy_strided(
        bld,
        bld.ref(node.inputs[0]),
        offset,
        out,
        0,
        out_shape,
        sstr,
        row_major_strides(tuple(out_shape)),
        "sl",
    )


def supports_gather(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    if not is_const(consts, node.inputs[1]):
        return "indices are not constant"
    x = inputs[0].shape  # type: ignore[union-attr]
    ax = int(node.attrs.get("axis", 0)) % max(len(x), 1)
    idx = consts[node.inputs[1]]
    if isinstance(x[ax], int) and idx.size and (idx.min() < -x[ax] or idx.max() >= x[ax]):
        return "indices out of range"
    return None


def lower_gather(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    ax = int(node.attrs.get("axis", 0)) % len(shape)
    idx = bld.const(node.inputs[1]).reshape(-1).astype(np.int64)
    idx = np.where(idx < 0, idx + shape[ax], idx).astype(np.int32)
    L, inner = shape[ax], math.prod(shape[ax + 1 :])
    total = math.prod(bld.shape(node.outputs[0]))
    ibuf = bld.weight(f"{node.inputs[1]}::idx{L}", idx, np.int32)
    args = [bld.ref(node.inputs[0]), bld.out(node.outputs[0]), ibuf, i32(L), i32(idx.size)]
    bld.launch("gather_f32", (max(total, 1),), args + [i32(inner), i32(total)])


def supports_transpose(
    node: Node, inputs: list[Value | None], consts: dict, opset: int
) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    return None if inputs[0].shape else "0-d Transpose"  # type: ignore[union-attr]


SUPPORT = {op: supports_view for op in VIEWS} | {
    "Transpose": supports_transpose,
    "Concat": lambda n, i, c, o: float32_inputs(i),
    "Split": supports_split,
    "Slice": supports_slice,
    "Gather": supports_gather,
}
LOWER = {op: lower_view for op in VIEWS} | {
    "Transpose": lower_transpose,
    "Concat": lower_concat,
    "Split": lower_split,
    "Slice": lower_slice,
    "Gather": lower_gather,
}
