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
# max-pool rows of 8 to 32 inputs with at most 16 outputs (mtcnn's) a whole row per work-item
# (short_row_text); False: maxpool8/16 and maxpool_f32 as before (tests, measurements)
SHORT_ROWS = True


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
        lanes = short_row_lanes(W, OW) if SHORT_ROWS and SPECIALISE else None
        if lanes is not None:  # a whole short row a work-item, the taps as vector shuffles
            name = bld.generate("maxpool_row", short_row_text(geo, planes, lanes))
            bld.launch(name, (OH, planes), [x, y], program="gen", family="maxpool_row (generated)")
        elif OW >= 8:  # 8 (16) outputs of a row per work-item, in vector operations
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


def short_row_lanes(W: int, OW: int) -> int | None:
    """The lanes (8 or 16) of `short_row_text`'s kernel for a row of W inputs and OW outputs: the
    row is two vector loads of that width (at 0 and at W - lanes), which need lanes <= W <= 2 *
    lanes, and the OW outputs fit the lanes; None where no width fits."""
    for lanes in (8, 16):
        if OW <= lanes and lanes <= W <= 2 * lanes:
            return lanes
    return None


def short_row_text(geo: tuple[int, ...], planes: int, lanes: int) -> str:
    """A generated max-pool kernel (parameters and body) computing a whole output row (OW <=
    lanes) per work-item (oh, plane) for geometry `geo` (H, W, OH, OW, KH, KW, sh, sw, ph, pw,
    dh, dw) over `planes` planes: each input row is two vector loads (columns 0.. and
    W - lanes..), every tap one constant shuffle of them, lanes outside the row masked to -inf.
    mtcnn's short pooled rows (22 -> 11, 9 -> 4, 10 -> 5) otherwise cost a scalar gather per tap
    (maxpool8_f32's edge path, maxpool_f32): rnet's 22 -> 11 pool 45 -> 16 us of device time."""
    H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw = geo
    L = lanes
    v, u, i = f"float{L}", f"uint{L}", f"int{L}"
    taps = []
    for kw in range(KW):
        index, keep = [], []
        for j in range(L):
            c = j * sw - pw + kw * dw
            inside = j < OW and 0 <= c < W
            keep.append("-1" if inside else "0")
            index.append(str(c if inside and c < L else (L + c - (W - L) if inside else 0)))
        mask = f"shuffle2(a, b, ({u})({', '.join(index)}))"
        if all(k == "-1" for k in keep):
            taps.append(f"    m = npmax{L}(m, {mask});")
        else:
            taps.append(
                f"    m = npmax{L}(m, select(({v})(-INFINITY), {mask}, ({i})({', '.join(keep)})));"
            )
    stores = "\n".join(f"  ST(m.s{j:x}, y, o + {j});" for j in range(OW))
    return f"""(__global const data_t* restrict x, __global data_t* restrict y) {{
  const int oh = get_global_id(0), ic = get_global_id(1);
  if (oh >= {OH} || ic >= {planes}) return;
  __global const data_t* xp = x + (long)ic * {H * W};
  {v} m = -INFINITY;
  for (int kh = 0; kh < {KH}; ++kh) {{
    const int ih = oh * {sh} - {ph} + kh * {dh};
    if (ih < 0 || ih >= {H}) continue;
    const {v} a = LD{L}(xp + ih * {W}, 0), b = LD{L}(xp + ih * {W} + {W - L}, 0);
{chr(10).join(taps)}
  }}
  const long o = ((long)ic * {OH} + oh) * {OW};
{stores}
}}
"""


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
