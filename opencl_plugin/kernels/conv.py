"""Conv and FusedConv (NCHW, 1-D or 2-D, constant weights) on gemm_f32, im2col_f32,
depthwise_f32, conv_direct_f32 and Winograd (winograd.py).

- depthwise (group = C = M): one direct kernel;
- 1x1, stride 1, no padding, one group: y[img] = W @ x[img], x read in place as the B operand;
- 3x3, stride 1, one group, enough channels: Winograd F(4x4, 3x3), F(2x2) on small maps;
- otherwise the direct kernel (short reductions, large images) or im2col into a scratch buffer
  already in gemm_f32's panel layout, then one GEMM per (image, group) as the batch dimension.
`algorithm` chooses; a choice `gossamer tune` measured per layer shape overrides it.
Bias, the residual z and the activation run in the epilogue of the last kernel.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ...refimpl.ir import Node, Value
from ...refimpl.op_geometry import window
from ..builder import Builder, f32, i32
from . import family_source
from ._checks import PRELU, float32_inputs, fused_activation, is_const, slope_args, slope_refusal
from .depthwise_row import eligible as row_eligible
from .depthwise_row import lower_depthwise_row
from .gemm import gemm
from .pointwise import lower_pointwise
from .specialise import launch_specialised
from .winograd import eligible, lower_winograd

log = logging.getLogger("gossamer.opencl")


def conv_refusal(
    node: Node, inputs: list[Value | None], consts: dict, what: str, float_inputs: tuple
) -> str | None:
    """Why a Conv-like node (x, constant W, constant bias) cannot run here, or None"""
    why = float32_inputs(inputs, *float_inputs)
    if why:
        return why
    x = inputs[0].shape  # type: ignore[union-attr]
    if len(x) not in (3, 4):
        return f"{len(x) - 2}-D {what} (opencl runs 1-D and 2-D)"
    if not is_const(consts, node.inputs[1]):
        return "weights are not constant"
    if len(node.inputs) > 2 and node.inputs[2] and not is_const(consts, node.inputs[2]):
        return "bias is not constant"
    if not isinstance(x[1], int):
        return "channel count unknown"
    return None


def supports_conv(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = conv_refusal(node, inputs, consts, "convolution", (0, 1, 2, 4))
    if why:
        return why
    x = inputs[0].shape  # type: ignore[union-attr]
    if node.op_type == "FusedConv":
        act = fused_activation(node)
        if isinstance(act, str):
            return act
        if act[0] == PRELU:
            return slope_refusal(node, consts, 3, consts[node.inputs[1]].shape[0], 1, len(x))
    return None


def _geometry(bld: Builder, node: Node) -> tuple:
    x = bld.shape(node.inputs[0])
    w = bld.const(node.inputs[1])
    a = node.attrs
    spatial = x[2:]
    win = window(
        spatial,
        a.get("kernel_shape") or w.shape[2:],
        strides=a.get("strides"),
        dilations=a.get("dilations"),
        pads=a.get("pads"),
        auto_pad=a.get("auto_pad", "NOTSET"),
    )
    if len(spatial) == 1:  # 1-D runs as 2-D with H = 1
        return (
            (1, spatial[0]),
            (1, win.kernel[0]),
            (1, win.strides[0]),
            (1, win.dilations[0]),
            (0, win.pads_begin[0]),
            (1, win.out[0]),
        )
    return spatial, win.kernel, win.strides, win.dilations, win.pads_begin, win.out


def lower_conv(bld: Builder, node: Node, opset: int) -> None:
    xn, wn = node.inputs[0], node.inputs[1]
    bn = node.inputs[2] if len(node.inputs) > 2 else ""
    zn = node.inputs[4] if len(node.inputs) > 4 else ""
    n_img, C = bld.shape(xn)[:2]
    w = bld.const(wn)
    M, G = w.shape[0], int(node.attrs.get("group", 1))
    (H, W), (KH, KW), (sh, sw), (dh, dw), (ph, pw), (OH, OW) = _geometry(bld, node)
    act = fused_activation(node) if node.op_type == "FusedConv" else (0, 0.0, 0.0)
    assert not isinstance(act, str)
    act, slope, smode = slope_args(bld, node, 3, act, 1)
    x, y = bld.ref(xn), bld.out(node.outputs[0])
    bias = bld.weight(bn, bld.const(bn).reshape(-1)) if bn else None
    res = bld.ref(zn) if zn else None
    P = OH * OW
    if G == C == M and w.shape[1] == 1:
        wk = bld.weight(wn, w.reshape(M, KH * KW))
        geo: tuple[int, ...] = (C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw)
        gsize = (-(-OW // 8), OH, n_img * C)
        if SPECIALISE and DEPTHWISE_ROWS and row_eligible(OW, sw):
            lower_depthwise_row(bld, x, wk, y, geo, n_img, (bias, res, act, slope, smode))
            return
        if SPECIALISE:  # every integer a literal: the taps unrolled, the index arithmetic folded
            text = DEPTHWISE_GEN.format(
                *geo[3:5], bias is not None, res is not None, *geo, act[0], smode
            )
            name = bld.generate("depthwise", text, family_source("depthwise_tile"))
            args = [x, wk, y, bias, res, f32(act[1]), f32(act[2]), slope]
            bld.launch(name, gsize, args, program="gen", family="depthwise (generated)")
            return
        args = [x, wk, y, bias, i32(bias is not None), res, i32(res is not None)]
        args += [i32(v) for v in geo] + [i32(act[0]), f32(act[1]), f32(act[2]), slope, i32(smode)]
        bld.launch("depthwise_f32", gsize, args)
        return
    Mg, Cg = M // G, C // G
    K = Cg * KH * KW
    pointwise = (KH, KW, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0) and (OH, OW) == (H, W)
    wide = bld.vector_width >= 16 if DIRECT_WIDE is None else DIRECT_WIDE
    algo = ALGORITHM(Cg, Mg, (KH, KW), (sh, sw), (dh, dw), G, P, wide=wide)
    if forced_algorithm() is None and eligible((KH, KW), (sh, sw), (dh, dw), G):
        site = f"conv[{n_img}x{C}x{H}x{W}->{M}x{OH}x{OW}]p{ph},{pw}"
        plain = "direct" if DIRECT(Cg, Mg, KH * KW, P, sw) else "im2col"
        algo = bld.choose(site, algo, ("winograd4", "winograd2", plain))
    if algo in ("winograd2", "winograd4"):
        epilogue = [bias, bias is not None, res, res is not None, *act, slope, smode]
        geo = (n_img, C, H, W, M, OH, OW, ph, pw)
        lower_winograd(bld, int(algo[-1]), wn, w, x, y, geo, epilogue)
        return
    if not (pointwise and G == 1) and algo == "direct":
        lanes = 16 if wide else 8
        kernel = "conv_direct16_f32" if lanes == 16 else "conv_direct_f32"
        packed = pack_direct(w.reshape(M, Cg, KH, KW), G, lanes)
        wk = bld.weight(f"{wn}::direct{lanes}", packed)
        geo = (C, H, W, G, Cg, Mg, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw)
        args = [x, wk, y, bias, i32(bias is not None), res, i32(res is not None)]
        args += [i32(v) for v in geo] + [i32(act[0]), f32(act[1]), f32(act[2]), slope, i32(smode)]
        gsize = (-(-OW // 8), OH, n_img * G * -(-Mg // lanes))
        if SPECIALISE and lanes == 16 and DIRECT_ROWS and row16_eligible(OW, sw):
            gsize = (1, OH, gsize[2])  # a whole row a work-item (conv_row16_f32)
            launch_specialised(bld, "conv_direct", "conv_row16_f32", gsize, args)
        elif SPECIALISE:
            launch_specialised(bld, "conv_direct", kernel, gsize, args)
        else:
            bld.launch(kernel, gsize, args)
        return
    if pointwise and G == 1 and POINTWISE:
        epi = (bias, res, act, slope, smode)
        lower_pointwise(bld, wn, w, x, y, (n_img, M, C, P), epi)
        return
    a = bld.weight(wn, w.reshape(M, K))
    common = dict(
        M=Mg,
        N=P,
        K=K,
        lda=K,
        ldc=P,
        GA=G,
        sA=Mg * K,
        sC=Mg * P,
        bias=bias,
        bias_mode=1 if bias is not None else 0,
        sbias=Mg,
        res=res,
        act=act,
        slope=slope,
        slope_mode=smode,
    )
    if pointwise and G == 1:
        gemm(bld, a, x, y, ldb=P, pstride=16, batch=n_img, sB=C * P, **common)  # type: ignore
        return
    ppad = -(-P // 16) * 16
    col = bld.scratch("col", n_img * G * K * ppad)
    geo = (C, H, W, G, Cg, KH, KW, OW, P, ppad, sh, sw, ph, pw, dh, dw)
    bld.launch("im2col_f32", (ppad // 16, K, n_img * G), [x, col] + [i32(v) for v in geo])
    gemm(bld, a, col, y, ldb=16, pstride=16 * K, batch=n_img * G, sB=K * ppad, **common)  # type: ignore


ENV_ALGORITHM = "GOSSAMER_OPENCL_CONV"
ALGORITHMS = ("winograd4", "winograd2", "direct", "im2col")


def algorithm(
    cg: int,
    mg: int,
    kernel: tuple,
    strides: tuple,
    dilations: tuple,
    groups: int,
    pixels: int,
    *,
    wide: bool = False,
) -> str:
    """How a (non-depthwise, non-pointwise) convolution runs: Winograd F(4x4, 3x3) (F(2x2) on
    small maps) for 3x3 stride 1 layers of some depth, else the direct kernel or im2col + GEMM
    by `direct_wins`; a tuned choice per layer shape overrides this (lower_conv). `wide`: the
    direct kernel runs its 16-channel float16 tile (`tiny` takes a higher limit).
    GOSSAMER_OPENCL_CONV=<one of ALGORITHMS> forces one where it applies (tests, measurements)."""
    forced = forced_algorithm()
    wino = eligible(kernel, strides, dilations, groups)
    if forced in ("winograd4", "winograd2") and wino:
        return forced
    if forced in ("direct", "im2col"):
        return forced
    taps = kernel[0] * kernel[1]
    if wino and WINOGRAD(cg, mg, pixels) and not tiny(cg, mg, taps, pixels, wide):
        return "winograd4" if pixels >= 100 else "winograd2"
    return "direct" if DIRECT(cg, mg, taps, pixels, strides[-1]) else "im2col"


def forced_algorithm() -> str | None:
    """GOSSAMER_OPENCL_CONV when it names one of ALGORITHMS; None when unset or "auto" (an unknown
    name is logged and ignored)."""
    forced = os.environ.get(ENV_ALGORITHM, "").strip().lower()
    if forced in ALGORITHMS:
        return forced
    if forced not in ("", "auto"):
        log.warning("%s=%r is not one of %s (or auto): ignored", ENV_ALGORITHM, forced, ALGORITHMS)
    return None


def winograd_wins(cg: int, mg: int, pixels: int) -> bool:
    """Whether Winograd beats the direct kernel and im2col + GEMM (measured per layer on PoCL,
    docs): its transforms cost about one pass over the input and the output, so it needs enough
    channels on both sides for the saving in multiplications to outweigh them. On small maps
    (under 100 output pixels: 7x7) F(2x2) wins over F(4x4): fewer padded tiles, and 16 instead of
    36 transformed weight matrices to stream (512 x 512 channels: 16 vs 36 MB)."""
    return cg >= 16 and mg >= 16


# multiply-adds per image up to which a layer is "tiny" (below); with the 16-channel direct tile
TINY_MACS = 500_000
TINY_MACS_WIDE = 1_500_000


def tiny(cg: int, mg: int, taps: int, pixels: int, wide: bool = False) -> bool:
    """Whether a layer is so small that its launches cost more than its arithmetic: then one
    direct-kernel launch beats Winograd's three (input transform, GEMM, output transform) and
    im2col + GEMM's two. Measured on PoCL (device timestamps, Xeon AVX-512, load ~5): mtcnn_pnet's
    16 -> 32 channel 7x11 layer (0.36 M multiply-adds) direct instead of F(2x2), the model's
    launches 0.19 -> 0.16 ms; silero's 129 -> 128 channel 4-pixel conv (0.2 M) direct instead of
    im2col + GEMM. Not above: mtcnn_rnet's 28 -> 48 channel 9x9 layer (1 M) took 190 us direct
    against 147 us as Winograd's three launches (the direct kernel's 8-pixel rows waste 7 of 8
    lanes on a 9-pixel row), mtcnn_onet's 64-channel 8x8 layer (2.4 M) was even. With the
    16-channel float16 direct tile (`wide`, 512-bit devices) that rnet layer took 0.12 ms direct
    against 0.18 ms as Winograd (the model's launches 0.68 -> 0.58 ms best, 0.78 -> 0.68 median,
    30 interleaved rounds, load 2.4-2.8); onet's 2.4 M layer was still even: limit 1.5 M."""
    return cg * mg * taps * pixels <= (TINY_MACS_WIDE if wide else TINY_MACS)


def row16_eligible(OW: int, sw: int) -> bool:
    """Whether conv_row16_f32 takes this direct convolution's rows: under 16 outputs whose last
    8-pixel tile would be at most half used (mtcnn's 9, 10, 3, 1), at stride 1 or 2 (above,
    direct_wins leaves the direct kernel anyway). Rows of 7 or 14 (resnet18's 7x7 and 14x14
    layers) measured the same or slower as a row (0.34-0.52 vs 0.32-0.37 ms), so keep the
    tiles."""
    return OW < 16 and 0 < OW % 8 <= 4 and sw <= 2


def direct_wins(cg: int, mg: int, taps: int, pixels: int, stride: int = 1) -> bool:
    """Whether the direct kernel beats im2col + GEMM. Measured per layer on PoCL (docs): direct
    wins on short reductions (no im2col pass to amortise) and large images (im2col's buffer
    outgrows the cache); the GEMM's 6x16 register tile wins on deep, small layers. Never at a
    horizontal stride above 2: the direct kernel then gathers each tap of its 8 outputs one by
    one (silero's STFT, kernel 256 at stride 128: 0.55 ms direct, 0.2 ms im2col + GEMM)."""
    return stride <= 2 and (cg * taps <= 300 or pixels >= 1500 or tiny(cg, mg, taps, pixels))


# a depthwise layer's kernel, generated per geometry: {0}, {1} OH, OW; {2}, {3} has_bias, has_res;
# {4}..{16} C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw; {17} act; {18} slope_mode
DEPTHWISE_GEN = """(__global const data_t* restrict x, __global const data_t* restrict w,
    __global data_t* restrict y, __global const data_t* restrict bias,
    __global const data_t* restrict res, const float p0, const float p1,
    __global const data_t* restrict slope) {{
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), ic = get_global_id(2);
  if (ow0 >= {1} || oh >= {0}) return;
  dw_tile(x, w, y, bias, {2:d}, res, {3:d}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13},
          {14}, {15}, {16}, {17}, p0, p1, slope, {18}, ow0, oh, ic);
}}
"""
SPECIALISE = True  # generated depthwise and direct kernels (False: the library's, geometry as
# arguments)
# the 16-channel direct convolution on rows of under 16 outputs that fill a last tile of 8 at
# most half (mtcnn's 9, 10, 3, 1; row16_eligible): a whole row a work-item (conv_row16_f32)
# instead of tiles of 8 pixels; False: the tiles
DIRECT_ROWS = True
DEPTHWISE_ROWS = True  # a row a work-item (depthwise_row.py; False: the 8-output tile kernel)
POINTWISE = True  # 1x1 convolutions as generated kernels (pointwise.py; False: the library GEMM)
# the direct kernel's 16-channel tile in float16 accumulators (conv_direct16_f32): None picks it
# where the device's native float vector width is 16, True / False forces (tests, measurements)
DIRECT_WIDE: bool | None = None
DIRECT = direct_wins  # the choices, replaceable for measurements
WINOGRAD = winograd_wins
ALGORITHM = algorithm


def pack_direct(w: np.ndarray, groups: int, lanes: int = 8) -> np.ndarray:
    """w[M, Cg, KH, KW] -> [G][ceil(Mg/lanes)][KH][KW][Cg][lanes], zero padded: conv_direct.cl's
    layout, 8 lanes for conv_direct_f32, 16 for conv_direct16_f32 (for ConvTranspose pass
    w[C, Mg, KH, KW] transposed to [G*Mg, Cg, KH, KW] per group)."""
    m, cg, kh, kw = w.shape
    mg = m // groups
    mb = -(-mg // lanes)
    padded = np.zeros((groups, mb * lanes, cg, kh, kw), np.float32)
    padded[:, :mg] = w.reshape(groups, mg, cg, kh, kw)
    tiles = padded.reshape(groups, mb, lanes, cg, kh, kw)
    return np.ascontiguousarray(tiles.transpose(0, 1, 4, 5, 3, 2))


SUPPORT = {"Conv": supports_conv, "FusedConv": supports_conv}
LOWER = {"Conv": lower_conv, "FusedConv": lower_conv}
