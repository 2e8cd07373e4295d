"""MaxPool, AveragePool (NCHW, 1-D or 2-D) and GlobalAveragePool on pool.cl / reduce.cl.

AveragePool divides by the reference's own tap counts (op_geometry.window_tap_counts), uploaded
once per shape, so count_include_pad and ceil_mode agree with it exactly.
"""

from __future__ import annotations

import math

import numpy as np

from ...refimpl.ir import Node, Value
from ...refimpl.op_geometry import window, window_tap_counts
from ..builder import Builder, i32
from ._checks import float32_inputs
from .specialise import launch_specialised

SPECIALISE = True  # generated max-pool kernels per geometry (False: the library's)
# 16 outputs a work-item in float16 (maxpool16_f32) on rows of 16+ outputs: None where the
# device's native float vector width is 16, True / False forces (tests, measurements)
WIDE: bool | None = None


def supports_pool(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    if len(inputs[0].shape) not in (3, 4):  # type: ignore[union-attr]
        return "pooling of rank other than 3 or 4"
    if node.op_type == "MaxPool" and (len(node.outputs) > 1 and node.outputs[1]):
        return "MaxPool Indices output"
    if node.op_type == "MaxPool" and int(node.attrs.get("storage_order", 0)):
        return "storage_order=1"
    if node.op_type == "AveragePool" and any(d != 1 for d in node.attrs.get("dilations") or []):
        return "dilated AveragePool"
    return None


def supports_global(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    return None if len(inputs[0].shape) >= 3 else "rank below 3"  # type: ignore[union-attr]


def lower_pool(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    a = node.attrs
    win = window(
        shape[2:],
        a["kernel_shape"],
        strides=a.get("strides"),
        dilations=a.get("dilations"),
        pads=a.get("pads"),
        auto_pad=a.get("auto_pad", "NOTSET"),
        ceil_mode=int(a.get("ceil_mode", 0)),
    )
    lift = (lambda t, one: (one, t[0])) if len(shape) == 3 else (lambda t, one: tuple(t))
    H, W = lift(shape[2:], 1)
    KH, KW = lift(win.kernel, 1)
    sh, sw = lift(win.strides, 1)
    dh, dw = lift(win.dilations, 1)
    ph, pw = lift(win.pads_begin, 0)
    OH, OW = lift(win.out, 1)
    planes = shape[0] * shape[1]
    x, y = bld.ref(node.inputs[0]), bld.out(node.outputs[0])
    if node.op_type == "MaxPool":
        geo = (H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw)
        if OW >= 8:  # 8 (16) outputs of a row per work-item, in vector operations
            lanes = 16 if OW >= 16 and (bld.vector_width >= 16 if WIDE is None else WIDE) else 8
            kernel = f"maxpool{lanes}_f32"
            gsize, args = (-(-OW // lanes), OH, planes), [x, y] + [i32(v) for v in geo]
            if SPECIALISE:  # the taps unrolled (mtcnn's 3x3 pools: ~2x)
                launch_specialised(bld, "pool", kernel, gsize, args)
            else:
                bld.launch(kernel, gsize, args)
        else:
            bld.launch("maxpool_f32", (OW, OH, planes), [x, y] + [i32(v) for v in geo])
        return
    include = int(a.get("count_include_pad", 0))
    divisor = np.ones((), np.int64)
    for axis, size in enumerate(shape[2:]):
        b, e = win.pads_begin[axis], win.pads_end[axis]
        low, high = (0, b + size + e) if include else (b, b + size)
        cnt = window_tap_counts(
            size, win.out[axis], win.kernel[axis], win.strides[axis], 1, low, high
        )
        divisor = np.multiply.outer(divisor, cnt)
    count = np.maximum(divisor, 1).astype(np.float32).reshape(-1)
    cbuf = bld.weight(f"{node.name}::count{shape}", count)
    sizes = (H, W, OH, OW, KH, KW, sh, sw, ph, pw)
    bld.launch("avgpool_f32", (OW, OH, planes), [x, y, cbuf] + [i32(v) for v in sizes])


def lower_global(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    rows, L = shape[0] * shape[1], math.prod(shape[2:])
    args = [bld.ref(node.inputs[0]), bld.out(node.outputs[0])]
    bld.launch("reduce_f32", (rows,), args + [i32(L), i32(1), i32(rows), i32(1)])


SUPPORT = {
    "MaxPool": supports_pool,
    "AveragePool": supports_pool,
    "GlobalAveragePool": supports_global,
}
LOWER = {"MaxPool": lower_pool, "AveragePool": lower_pool, "GlobalAveragePool": lower_global}
