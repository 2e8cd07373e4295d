"""ConvTranspose (NCHW, 1-D or 2-D, constant weights; groups, strides, pads, auto_pad,
output_padding, output_shape, dilations) on conv_transpose_f32: a gather per output tile, no
scatter, so no atomics. The geometry is the reference's own (conv_transpose_geometry)."""

from __future__ import annotations

from ...refimpl.ir import Node, Value
from ...refimpl.op_geometry import conv_transpose_geometry
from ..builder import Builder, i32
from .conv import conv_refusal, pack_direct


def supports(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    return conv_refusal(node, inputs, consts, "transposed convolution", (0, 1, 2))


def lower(bld: Builder, node: Node, opset: int) -> None:
    xn, wn = node.inputs[0], node.inputs[1]
    bn = node.inputs[2] if len(node.inputs) > 2 else ""
    n_img, C, *spatial = bld.shape(xn)
    w = bld.const(wn)
    G = int(node.attrs.get("group", 1))
    Cg, Mg = C // G, w.shape[1]
    kernel = tuple(w.shape[2:])
    a = node.attrs
    strides, dils, begin, out = conv_transpose_geometry(
        spatial,
        kernel,
        a.get("auto_pad", "NOTSET"),
        a.get("dilations"),
        a.get("output_padding"),
        a.get("output_shape"),
        a.get("pads"),
        a.get("strides"),
    )
    if len(spatial) == 1:  # 1-D runs as 2-D with H = 1
        spatial, kernel = [1, spatial[0]], (1, kernel[0])
        strides, dils, begin, out = (1, *strides), (1, *dils), (0, *begin), [1, *out]
    (H, W), (KH, KW), (OH, OW) = spatial, kernel, out
    # w[g*Cg + c, m] -> [g*Mg + m, c]: the forward conv's layout, so one packing serves both
    wt = w.reshape(G, Cg, Mg, KH, KW).transpose(0, 2, 1, 3, 4).reshape(G * Mg, Cg, KH, KW)
    wk = bld.weight(wn + "::transposed", pack_direct(wt, G))
    bias = bld.weight(bn, bld.const(bn).reshape(-1)) if bn else None
    x, y = bld.ref(xn), bld.out(node.outputs[0])
    geo = (C, H, W, G, Cg, Mg, OH, OW, KH, KW, *strides, *begin, *dils)
    args = [x, wk, y, bias, i32(bias is not None)] + [i32(v) for v in geo]
    bld.launch("conv_transpose_f32", (-(-OW // 8), OH, n_img * G * -(-Mg // 8)), args)


SUPPORT = {"ConvTranspose": supports}
LOWER = {"ConvTranspose": lower}
