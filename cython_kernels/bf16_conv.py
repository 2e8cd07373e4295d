"""Conv and FusedConv in bfloat16 with float32 accumulation (the `cython-bf16` backend's
convolutions; its table: bf16_kernels.py): the activations rounded while the im2col panels are
packed, the weights once. Depthwise convs and stems (few input channels on a large plane) are
declined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import check_groups, window
from ._common import (
    F32,
    all_float32,
    conv_activation_refusal,
    conv_rank_refusal,
    scratch,
    static_shape,
    threads,
    window_refusal,
)
from ._native import ext
from .bf16_matmul import U32, pack_a
from .bf16_mode import select_bf16_impl
from .conv_kernels import conv_attributes

Array = np.ndarray
# a conv with at most FEW_CHANNELS input channels per group on an input plane of at least
# LARGE_PLANE pixels (an image model's stem) is declined: there the float32 kernels' direct conv for
# few channels beats im2col + the bf16 GEMM (ResNet-18 at 1 thread 11 % faster, MobileNetV2 4 %, on
# an AMX CPU) and keeps fp32 accuracy; on small planes either takes next to no time
FEW_CHANNELS = 4
LARGE_PLANE = 64 * 64
# convs of one group (but 1x1s) run the direct conv (no im2col) where the AMX tiles are in
# use; False: im2col for every conv (benchmarks/bf16_speed.py's bf16-im2col engine compares them)
DIRECT = True


# ---- Conv / FusedConv ----------------------------------------------------------------------------


def conv_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = all_float32(inputs[:5]) or conv_rank_refusal(inputs, "convolution")
    if why:
        return why
    if node.op_type == "FusedConv":
        why = conv_activation_refusal(node)
        if why:
            return why
    group, w = int(node.attrs.get("group", 1)), static_shape(inputs[1])
    if group > 1 and (w is None or w[1] is None):
        return "grouped conv with a weight shape unknown before running"
    if group > 1 and w is not None and w[1] == 1:
        return "depthwise: no inner product to pair in bf16 (the float32 kernel runs it)"
    x = static_shape(inputs[0])
    plane = None if x is None or len(x) != 4 or None in x[2:] else x[2] * x[3]
    if w is not None and w[1] is not None and w[1] <= FEW_CHANNELS and (plane or 0) >= LARGE_PLANE:
        return (
            f"{w[1]} input channels per group on a {plane}-pixel plane: the float32 direct conv "
            "is faster than im2col + bf16 there"
        )
    return None


class _Bf16Conv:
    """One Conv node: its weights as bf16 panels per group (packed once if constant)."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        conv_attributes(self, node)
        w = constants.get(1)
        self.w_shape = None if w is None else _as_4d(w).shape
        self.packed = None if w is None else self._pack(_as_4d(w))
        self.packed_direct: Array | None = None  # the direct conv's weights, at its first run
        b = constants.get(2)
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)

    def _pack(self, w: Array) -> list[Array]:
        m, cg, kh, kw = w.shape
        mg = m // self.group
        k = cg * kh * kw
        return [pack_a(w[g * mg : (g + 1) * mg].reshape(mg, k)) for g in range(self.group)]

    def _pack_direct(self, w: Array) -> Array:
        """W'[m, (ky*kw + kx)*Cp + ci] (Cp: channels rounded up to 32) packed: the direct conv's
        weights (src/bf16.h)."""
        m, c, kh, kw = w.shape
        wr = np.zeros((m, kh, kw, ext().bf16_conv_cpad(c)), F32)
        wr[..., :c] = w.transpose(0, 2, 3, 1)
        return pack_a(wr.reshape(m, -1))

    def _direct(self, taps: int, sh: int, sw: int) -> bool:
        """Whether this run takes the direct conv: AMX in use, one group, more than one tap (a
        1x1's im2col is no expansion: a strided 1x1 ran 1.2-1.7x slower direct, ResNet-18's
        shapes, benchmarks in docs/bf16.md), strides the direct conv takes."""
        top = ext().bf16_conv_max_stride()
        return DIRECT and self.group == 1 and taps > 1 and max(sh, sw) <= top and ext().bf16_amx()

    def __call__(
        self, x: Array, w: Array, b: Array | None, slope: Array | None, z: Array | None
    ) -> Array:
        if x.ndim == 3 and w.ndim == 3:  # 1-D: (N, C, L) as (N, C, 1, L)
            z4 = None if z is None else z[:, :, None, :]
            y = self.run(x[:, :, None, :], w[:, :, None, :], b, self.geometry_1d, z4)
            y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
        else:
            y = self.run(x, w, b, self.geometry, z)
        return y if self.post is None else self.post(y, slope)

    def run(self, x: Array, w: Array, b: Array | None, geometry: dict, z: Array | None) -> Array:
        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        check_groups(c, w.shape, self.group)  # the reference's error for mismatched channels
        if self.group > 1 and cg == 1:
            raise RuntimeDecline("depthwise: no inner product to pair in bf16")
        win = window(x.shape[2:], geometry["kernel_shape"] or w.shape[2:],
                     strides=geometry["strides"], dilations=geometry["dilations"],
                     pads=geometry["pads"], auto_pad=geometry["auto_pad"])  # fmt: skip
        refusal = window_refusal(x.shape[2:], win)
        if refusal is not None:
            raise RuntimeDecline(refusal)
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        packed = self.packed if tuple(w.shape) == self.w_shape else self._pack(w)
        bias = self.bias if self.bias is not None or b is None else np.ascontiguousarray(b, F32)
        x = np.ascontiguousarray(x, F32)
        y = output_array((n, m, oh, ow))
        if z is not None and z.shape != y.shape:
            raise RuntimeDecline(f"residual {list(z.shape)} is not the output {list(y.shape)}")
        if y.size == 0:
            return y
        z = None if z is None else np.ascontiguousarray(z, F32)
        t, mg, k, hw = threads(), m // self.group, cg * kh * kw, oh * ow
        lo, hi, clip = self.bounds
        plain = (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0) and (oh, ow) == (h, wd)
        if self._direct(kh * kw, sh, sw):
            # on the AMX tiles: the direct conv, no im2col
            if tuple(w.shape) == self.w_shape:
                if self.packed_direct is None:
                    self.packed_direct = self._pack_direct(w)
                wdir = self.packed_direct
            else:
                wdir = self._pack_direct(w)
            planes = np.empty(ext().bf16_conv_planes_size(c, kh, kw, sh, sw, dh, dw, oh, ow), U32)
            for i in range(n):
                zi = None if z is None else z[i].reshape(m, hw)
                ep = ext().Epilogue(bias_row=bias, residual=zi, clip=bool(clip), lo=lo, hi=hi)
                ext().bf16_conv_direct(
                    x[i],
                    kh,
                    kw,
                    sh,
                    sw,
                    dh,
                    dw,
                    ph,
                    pw,
                    oh,
                    ow,
                    wdir,
                    planes,
                    y[i].reshape(m, hw),
                    ep,
                    t,
                )
            return y
        bp = np.empty(ext().bf16_packed_b_size(k, hw), U32)
        for i in range(n):
            for g in range(self.group):
                xg = x[i, g * cg : (g + 1) * cg]
                if plain:
                    ext().bf16_pack_b(xg.reshape(cg, h * wd), bp, t)
                elif not ext().bf16_pack_b_conv(xg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bp, t):
                    # over 121 taps: the float32 im2col panels, then rounded to bf16 pairs
                    b32 = scratch(ext().packed_b_size(k, hw))
                    ext().pack_b_conv(xg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, b32, t)
                    ext().bf16_pack_b_from_packed(k, hw, b32, bp, t)
                zg = None if z is None else z[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                bg = None if bias is None else bias[g * mg : (g + 1) * mg]
                ep = ext().Epilogue(bias_row=bg, residual=zg, clip=bool(clip), lo=lo, hi=hi)
                yg = y[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                ext().bf16_gemm_ep(mg, hw, k, packed[g], bp, yg, ep, t)
        return y


def _as_4d(w: Array) -> Array:
    return w.reshape(w.shape[0], w.shape[1], 1, w.shape[2]) if w.ndim == 3 else w


def prepare_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    select_bf16_impl()
    prepared = _Bf16Conv(node, constants)

    def conv(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b, None, None)

    return conv


def prepare_fused_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    select_bf16_impl()
    prepared = _Bf16Conv(node, constants)

    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None,
        z: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b, slope, z)

    return fused_conv
