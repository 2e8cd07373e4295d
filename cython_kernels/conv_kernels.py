"""Conv and gossamer::FusedConv (1-D and 2-D, float32): depthwise direct, 3x3 stride-1 by Winograd
F(4x4, 3x3) where it measured faster, everything else as packed GEMM.

Weights are packed once per layout, when a call first needs it (the spatial size, known only then,
picks the path): per group W_g as the GEMM's left operand (M x C*kh*kw), for Winograd the 36 or 16
transformed matrices G g G^T, for the direct stem kernel W^T (this one at prepare time), so a layer
keeps only the copies its path reads. Per call the input is written straight into
packed-B panels (im2col without an im2col matrix; a 1x1/stride-1/no-pad conv packs the input plane
as is). Bias and Relu/Clip run in the epilogue, other fused activations in one pass after it.
Only weights, channel counts and attributes are needed at prepare time: batch and spatial sizes
may be symbolic (computed per call). A 1-D conv (N, C, L) runs as 2-D with H = 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import check_groups, window
from ..refimpl.ops.op_conv import conv_1
from ..refimpl.ops.op_fused_conv import fused_conv_1
from ._common import (
    F32,
    UNARY_OPS,
    aligned_empty,
    conv_activation_refusal,
    conv_rank_refusal,
    epilogue_bounds,
    float32_or_half,
    half_out,
    post_activation,
    scratch,
    threads,
    window_refusal,
)
from ._native import ext
from .elementwise_kernels import BINARY
from .prepacked import packed_form
from .segments import traceable

Array = np.ndarray
FLOATS = {"float32", "float16"}  # float16 nodes compute in float32 (see _common.float32_or_half)
_NO_CLIP = (-float("inf"), float("inf"), False)  # epilogue bounds when the clip must wait
_ADD = BINARY["Add"]


# Winograd policy: "auto" (F(4x4, 3x3) or F(2x2, 3x3) where each measured faster), "always" or
# "f4" (F(4x4) on any 3x3/stride-1/dilation-1/one-group conv with constant weights), "f2" (F(2x2)
# there; tests) or "never".
WINOGRAD = "auto"
# Winograd's G for F(4x4, 3x3) (6 x 3) and F(2x2, 3x3) (4 x 3): U = G g G^T per channel pair.
_G = {
    4: np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64),
    2: np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64),
}  # fmt: skip


# the GEMM path packs the im2col panels in the threads that multiply them (gk_conv_gemm: one pool
# call per conv, each block's panels still in cache); False packs the whole im2col first (A/B)
PACK_IN_GEMM = True

# group-1 convs with at most this many input channels run the direct polyphase kernel
# (gk_conv_direct, src/conv.h) where the SIMD level has it: im2col's K = C*kh*kw is too thin for
# the GEMM there (MobileNetV2's 3 -> 32 3x3 s2 stem: 0.50 ms as GEMM at 1 thread).
DIRECT_MAX_CIN = 4

# group-1 convs whose output plane has fewer pixels than this run with the output channels in the
# vector lanes (gk_conv_cvec, src/conv.h): im2col's GEMM puts a plane's pixels in the lanes, so an
# audio model's 4-5 frames (silero's STFT 1 -> 258 k256 s128, its k3 encoder) filled a quarter
# of them. GOSSAMER_CONV_CVEC=0 turns the path off (A/B).
CVEC_MAX_PIXELS = 16 if os.environ.get("GOSSAMER_CONV_CVEC", "1").strip() != "0" else 0
CVEC_GEMM_WEIGHT_BYTES = 1 << 20  # see _cvec_pays

# 1x1 unpadded stride-1 convs (group 1, constant weights) that src/conv1x1.h's rule picks (small
# planes: 7x7 to 16x16) run with the output channels in the vector lanes (ext().conv1x1_cvec:
# the packed GEMM's bits, its own weight panels; the rule's switch is ext().conv1x1_cvec_on).
# False keeps them on the GEMM (A/B within one process: conv_knob_ab --session-per-variant).
CONV1X1_CVEC = True
# with more than one thread, only planes of at most this many pixels: ResNet-50's 7x7 1x1s took
# 0.7-0.9x the GEMM's time at 2 threads in the model, its 14x14 ones 1.05-1.4x (0.83-0.94x alone,
# their weights and input hot in each core's L2; at 1 thread 0.87-0.96x in the model too):
# results/resnet_2t.md, Session 28 (r50)
CONV1X1_CVEC_THREADED_PIXELS = 64
# and larger planes from this many input channels (None: none): the 14x14 K = 1024 ones took
# 0.87-0.97x the GEMM's time at 2 threads in the model, the K = 256 ones (with a residual)
# 0.95-1.3x, their pixels split between the threads too: Session 29 (r50)
CONV1X1_CVEC_THREADED_MIN_K: int | None = 512
# and only from this many input channels: a thin K (SqueezeNet's 64 -> 256 expand at 13x13) took
# 1.19-1.27x the GEMM's time alone at 1 thread (a tile's 64 K steps do not pay for its
# accumulators' stores and the output pass)
CONV1X1_CVEC_MIN_K = 128
# a strided 1x1 (unpadded: ResNet's downsampling shortcuts) with an output plane of at most this
# many pixels and at least CONV1X1_CVEC_STRIDED_MIN_K input channels takes the same rule too, its
# input's strided pixels first copied together (ext().copy_into into the scratch buffer, c x oh x
# ow); 0: none (A/B). In the model (conv_knob_ab, alternated): ResNet-50's 1024 -> 2048 to 7x7
# (8 MiB of weights) 0.79x the GEMM's time at 1 thread, 0.86x at 2; its 512 -> 1024 to 14x14
# 1.02x and 1.24x; ResNet-18's 256 -> 512 to 7x7 (~125 us, the copy's call a part of it)
# 1.03-1.08x: results/resnet_2t.md, Session 30 (r50)
CONV1X1_CVEC_STRIDED_PIXELS = 64
CONV1X1_CVEC_STRIDED_MIN_K = 512


def _direct_weights(w: Array) -> Array:
    """Weights (M, C, kh, kw) as the direct kernel reads them: (C*kh*kw) x ldw, one tap's output
    channels adjacent (whole vectors), zero columns from M up to ldw, a multiple of 16."""
    m = w.shape[0]
    rows, ldw = int(np.prod(w.shape[1:])), -(-m // 16) * 16
    out = aligned_empty(rows * ldw).reshape(rows, ldw)
    out[:, m:] = 0
    out[:, :m] = np.asarray(w, F32).reshape(m, -1).T
    return out


def _cvec_panels(w: Array) -> Array:
    """Weights (M, C, kh, kw) in the small-plane kernel's panels: (M + 15) // 16 panels of
    C*kh*kw rows of 16 output channels each (a tap's channels adjacent), zeros past M: the
    direct kernel's rows (_direct_weights) cut into column panels of 16."""
    rows = _direct_weights(w)  # (C*kh*kw) x ldw, ldw a multiple of 16
    k = rows.shape[0]
    out = aligned_empty(rows.size).reshape(-1, k, 16)
    out[:] = rows.reshape(k, -1, 16).transpose(1, 0, 2)
    return out


def _cvec_pays(n: int, pixels: int, m: int, k: int) -> bool:
    """Whether the small-plane kernel fills more of its vectors' lanes (the output channels, in
    vectors of 16) than the im2col GEMM would (its columns: the batch's pixels, one product for
    a batch of more than one image): silero's 258 channels x 4 images of 5 frames 0.95 against
    0.63; 128 channels x 4 images of 4 frames 1.0 against 1.0 stays with the GEMM. Where the
    GEMM fills at least half its lanes and the weights (m x k floats) pass 1 MiB, both stream
    the weights from memory and the GEMM's one stream was faster (256 -> 256 3x3 on a 3x3 plane:
    1.2x)."""
    cols = n * pixels if n > 1 else pixels
    gemm_fill = cols / (-(-cols // 16) * 16)
    if gemm_fill >= 0.5 and m * k * 4 > CVEC_GEMM_WEIGHT_BYTES:
        return False
    return m / (-(-m // 16) * 16) > gemm_fill


def _conv_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = float32_or_half(inputs[:5]) or conv_rank_refusal(inputs, "convolution")
    if bad:
        return bad
    if node.op_type == "FusedConv":
        return conv_activation_refusal(node)
    return None


def _as_2d(attrs: dict[str, Any]) -> dict[str, Any]:
    """1-D conv geometry (kernel/stride/dilation [k], pads [b, e]) as 2-D with H = 1."""
    out = dict(attrs)
    for key in ("kernel_shape", "strides", "dilations"):
        if attrs.get(key) is not None and len(attrs[key]) == 1:
            out[key] = [1, *attrs[key]]
    if attrs.get("pads") is not None and len(attrs["pads"]) == 2:
        b, e = attrs["pads"]
        out["pads"] = [0, b, 0, e]
    return out


def _avx512_gemm() -> bool:
    """Whether the GEMM runs its AVX-512 micro-kernel (SIMD level index 2 and up)."""
    index = getattr(ext(), "simd_index", None)
    return bool(index is not None and index() >= 2)


def conv_attributes(conv: Any, node: Node) -> None:
    """Sets a prepared (Fused)Conv's geometry, its 1-D form as 2-D (geometry_1d), group, the
    activation run after the kernel (post: None for the epilogue's own) and the epilogue's
    clip bounds, from the node's attributes: the float32 and bf16 convs share this."""
    a = node.attrs
    conv.geometry = {
        k: a.get(k) for k in ("auto_pad", "dilations", "kernel_shape", "pads", "strides")
    }
    conv.geometry["auto_pad"] = conv.geometry["auto_pad"] or "NOTSET"
    conv.geometry_1d = _as_2d(conv.geometry)
    conv.group = int(a.get("group", 1))
    activation, params = str(a.get("activation", "")), a.get("activation_params")
    conv.post = post_activation(activation, params)
    conv.bounds = epilogue_bounds(activation, params) if conv.post is None else (0.0, 0.0, False)


class _Conv:
    """One Conv node, prepared: packed weights per group (and Winograd's), the epilogue."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        conv_attributes(self, node)
        w = self._src = constants.get(1)  # the weight as given: pre-packed forms hang on it
        if w is not None and w.ndim == 3:
            w = w.reshape(w.shape[0], w.shape[1], 1, w.shape[2])
        self.w_shape = None if w is None else w.shape
        # the constant weights packed for the GEMM/depthwise paths, on first use: a layer that
        # always runs Winograd (or the direct stem kernel) never holds this copy (ResNet-18: 37 MB)
        self._w = w
        self._packed: list[Array] | Array | None = None
        # transformed weights per tile size, packed on first use (the spatial size picks F(4x4)
        # or F(2x2), and may be unknown before running)
        self.w_const = w if w is not None and self._winograd_able(w) else None
        self.wino: dict[int, Array] = {}
        self.windows: dict[tuple, Any] = {}  # (x shape, w shape, geometry) -> its window
        b = constants.get(2)
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)
        # few input channels (an image model's stem): the direct polyphase kernel
        self.w_direct = None
        self._w_panels: Array | None = None  # small output planes' (_cvec_weights)
        self._w_cvec1x1: Array | None = None  # small planes' 1x1 (_cvec1x1_weights)
        if w is not None and self.group == 1 and w.shape[1] <= DIRECT_MAX_CIN:
            k, ldw = int(np.prod(w.shape[1:])), -(-w.shape[0] // 16) * 16
            self.w_direct = packed_form(
                self._src, "conv.direct", {"m": w.shape[0], "k": k}, (k, ldw),
                lambda: _direct_weights(w),
            )  # fmt: skip

    def _cvec_weights(self) -> Array:
        """The constant weights in the small-plane kernel's panels (_cvec_panels), made on
        first use."""
        if self._w_panels is None:
            w = self._w
            m, k = w.shape[0], int(np.prod(w.shape[1:]))
            self._w_panels = packed_form(
                self._src, "conv.cvec", {"m": m, "k": k}, (-(-m // 16), k, 16),
                lambda: _cvec_panels(w),
            )  # fmt: skip
        return self._w_panels

    def _cvec1x1_weights(self) -> Array:
        """The constant 1x1 weights in conv1x1_cvec's panels of 64 output channels, made on
        first use."""
        if self._w_cvec1x1 is None:
            w = self._w
            m, k = w.shape[0], int(np.prod(w.shape[1:]))

            def build() -> Array:
                out = aligned_empty(ext().conv1x1_cvec_size(m, k))
                ext().conv1x1_cvec_pack(np.ascontiguousarray(w, F32).reshape(m, k), out)
                return out

            self._w_cvec1x1 = packed_form(
                self._src, "conv.cvec1x1", {"m": m, "k": k}, (ext().conv1x1_cvec_size(m, k),),
                build,
            )  # fmt: skip
        return self._w_cvec1x1

    def _cvec1x1(
        self, x: Array, y: Array, bias: Array | None, z: Array | None, geometry: tuple, t: int
    ) -> bool:
        """y = the 1x1 conv by conv1x1_cvec where it applies (False: nothing done). A strided
        one (CONV1X1_CVEC_STRIDED_PIXELS) multiplies its input's strided pixels, copied together:
        the values the GEMM's packed B holds, so the same bits."""
        (kh, kw, sh, sw, ph, pw), (n, c, h, wd), m = geometry, x.shape, y.shape[1]
        oh, ow = y.shape[2:]
        strided = (sh, sw) != (1, 1)
        hw = oh * ow
        if (
            not CONV1X1_CVEC or self.group != 1 or (kh, kw, ph, pw) != (1, 1, 0, 0)
            or (strided and (hw > CONV1X1_CVEC_STRIDED_PIXELS or c < CONV1X1_CVEC_STRIDED_MIN_K))
            or (oh, ow) != ((h - 1) // sh + 1, (wd - 1) // sw + 1)
            or not hasattr(ext(), "conv1x1_cvec")
            or (t > 1 and hw > CONV1X1_CVEC_THREADED_PIXELS
                and (CONV1X1_CVEC_THREADED_MIN_K is None or c < CONV1X1_CVEC_THREADED_MIN_K))
            or c < CONV1X1_CVEC_MIN_K
            or not ext().conv1x1_cvec_takes(m, hw, c)
        ):  # fmt: skip
            return False
        wp = self._cvec1x1_weights()
        xs = scratch(c * hw).reshape(c, oh, ow) if strided else None
        for i in range(n):
            zi = None if z is None else z[i].reshape(m, hw)
            if xs is not None:
                ext().copy_into(x[i][:, ::sh, ::sw], xs, t)
            xi = x[i] if xs is None else xs
            if not ext().conv1x1_cvec(wp, xi.reshape(c, hw), y[i].reshape(m, hw), bias, zi,
                                      *self.bounds, t):  # fmt: skip
                return False  # (the first image: the level has no kernel)
        return True

    def _winograd_able(self, w: Array) -> bool:
        g = self.geometry
        return (
            self.group == 1 and w.shape[2:] == (3, 3) and w.shape[0] >= 1 and w.shape[1] >= 1
            and all(v == 1 for v in (g["strides"] or [1, 1]) + (g["dilations"] or [1, 1]))
        )  # fmt: skip

    def _winograd_weights(self, mt: int) -> Array:
        if mt not in self.wino:
            w = self.w_const
            m, c = w.shape[:2]  # type: ignore[union-attr]
            shape = ((mt + 2) ** 2 * ext().packed_a_size(m, c),)
            self.wino[mt] = packed_form(
                self._src, "conv.winograd", {"mt": mt, "m": m, "c": c}, shape,
                lambda: self._pack_winograd(w, mt),  # type: ignore[arg-type]
            )  # fmt: skip
        return self.wino[mt]

    @staticmethod
    def _pack_winograd(w: Array, mt: int) -> Array:
        m, c = w.shape[:2]
        a2 = (mt + 2) ** 2
        u = np.empty((a2, m, c), F32)  # G g G^T per channel pair, in double (src/winograd.c)
        ext().winograd_weights(np.ascontiguousarray(w, F32), _G[mt], u, threads())
        size = ext().packed_a_size(m, c)
        out = aligned_empty(a2 * size)
        for k in range(a2):
            ext().pack_a(u[k], out[k * size : (k + 1) * size], threads())
        return out

    def _pack(self, w: Array) -> list[Array] | Array:
        if self._depthwise(w.shape):
            return np.ascontiguousarray(w, F32).reshape(-1)
        return self._split(self._pack_groups(w))

    def _pack_groups(self, w: Array) -> Array:
        """Every group's W_g packed as the GEMM's left operand, one after another."""
        m, cg, kh, kw = w.shape
        mg, size = m // self.group, ext().packed_a_size(m // self.group, cg * kh * kw)
        out = aligned_empty(self.group * size)
        for g in range(self.group):
            wg = np.asarray(w[g * mg : (g + 1) * mg], F32).reshape(mg, cg * kh * kw)
            ext().pack_a(wg, out[g * size : (g + 1) * size], threads())
        return out

    def _split(self, whole: Array) -> list[Array]:
        size = whole.size // self.group
        return [whole[g * size : (g + 1) * size] for g in range(self.group)]

    def packed(self) -> list[Array] | Array:
        """The constant weights packed for the GEMM (per group) or the depthwise kernel."""
        if self._packed is None:
            w = self._w
            if self._depthwise(w.shape):
                self._packed = self._pack(w)
            else:
                m, cg, kh, kw = w.shape
                k, mg = cg * kh * kw, m // self.group
                shape = (self.group * ext().packed_a_size(mg, k),)
                whole = packed_form(
                    self._src, "conv.pack_a", {"m": m, "k": k, "group": self.group}, shape,
                    lambda: self._pack_groups(w),
                )  # fmt: skip
                self._packed = self._split(whole)
        return self._packed

    def _depthwise(self, w_shape: tuple[int, ...]) -> bool:
        return self.group > 1 and w_shape[1] == 1 and w_shape[0] == self.group

    def __call__(
        self,
        x: Array,
        w: Array,
        b: Array | None,
        slope: Array | None = None,
        z: Array | None = None,
    ) -> Array:
        if x.ndim == 3 and w.ndim == 3:  # 1-D: (N, C, L) as (N, C, 1, L)
            z4 = None if z is None else z[:, :, None, :]
            y = self.run(x[:, :, None, :], w[:, :, None, :], b, self.geometry_1d, z4)
            y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
        else:
            y = self.run(x, w, b, self.geometry, z)
        if slope is not None and slope.dtype == np.float16:
            slope = slope.astype(F32)
        return half_out(y if self.post is None else self.post(y, slope), x)

    def use_winograd(self, c: int, m: int, oh: int, ow: int) -> int:
        """The Winograd tile size (4 or 2) for this layer, or 0 for the im2col GEMM."""
        if self.w_const is None or WINOGRAD == "never":
            return 0
        if WINOGRAD in ("always", "f4"):
            return 4
        if WINOGRAD == "f2":
            return 2
        # F(4x4) where its 16-tile panels are mostly full; F(2x2) on smaller planes: with the
        # AVX2/generic GEMM on 7x7 to 12x12, with the AVX-512 one only where its 16 tiles fill
        # one panel exactly (7x7 and 8x8: ResNet's last stage, 512 -> 512 on 7x7 1.06 against
        # 1.85 ms at 1 thread, 0.57 against 1.09 at 2; the im2col GEMM's 49 columns fill 4
        # panels of 16); never with fewer than 32 input channels. The measurements behind this:
        # docs/cython-backend.md, Winograd.
        if c < 32 or m < 16:
            return 0
        if -(-oh // 4) * -(-ow // 4) >= 16:
            return 4
        tiles2 = -(-oh // 2) * -(-ow // 2)
        return 2 if tiles2 >= 16 and (tiles2 == 16 or not _avx512_gemm()) else 0

    def run(
        self, x: Array, w: Array, b: Array | None, geometry: dict[str, Any], z: Array | None = None
    ) -> Array:
        """y = clip(conv(x, w) + b [+ z]); z, the residual, has y's shape (else RuntimeDecline)."""
        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        key = (x.shape, w.shape, id(geometry))
        win = self.windows.get(key)
        if win is None:  # once per input shape (the geometry is Python work: ~5 us per call)
            check_groups(c, w.shape, self.group)  # the reference's error for mismatched channels
            win = window(x.shape[2:], geometry["kernel_shape"] or w.shape[2:],
                         strides=geometry["strides"], dilations=geometry["dilations"],
                         pads=geometry["pads"], auto_pad=geometry["auto_pad"])  # fmt: skip
            refusal = window_refusal(x.shape[2:], win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(self.windows) < 64:
                self.windows[key] = win
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        const_w = self.w_shape is not None and tuple(w.shape) == self.w_shape
        bias = self.bias if self.bias is not None or b is None else np.ascontiguousarray(b, F32)
        x = np.ascontiguousarray(x, F32)
        y = output_array((n, m, oh, ow))
        if z is not None:
            if z.shape != y.shape:
                raise RuntimeDecline(f"residual {list(z.shape)} is not the output {list(y.shape)}")
            z = np.ascontiguousarray(z, F32)
        t = threads()
        if y.size == 0:
            return y
        if self._depthwise(w.shape):
            bounds = self.bounds if z is None else _NO_CLIP
            packed = self.packed() if const_w else self._pack(w)
            ext().depthwise(x, packed, kh, kw, sh, sw, dh, dw, ph, pw, bias, *bounds, y, t)
            return y if z is None else self._add_residual(y, z)
        small = const_w and self.group == 1 and oh * ow < CVEC_MAX_PIXELS
        if small and _cvec_pays(n, oh * ow, m, cg * kh * kw):
            panels = self._cvec_weights()
            work = scratch(ext().conv_cvec_work(n, c, kh, kw, oh, ow, m))
            bounds = self.bounds if z is None else _NO_CLIP
            if ext().conv_cvec(x, panels, kh, kw, sh, sw, dh, dw, ph, pw, bias, *bounds, y, work,
                               t):  # fmt: skip
                return y if z is None else self._add_residual(y, z)
        if const_w and self._cvec1x1(x, y, bias, z, (kh, kw, sh, sw, ph, pw), t):
            return y
        mt = self.use_winograd(c, m, oh, ow) if const_w and (sh, sw, dh, dw) == (1, 1, 1, 1) else 0
        if mt:
            # tiles per chunk: at 1 thread its transformed input and products (a^2 (c + m)
            # floats a tile) in about 512 KiB, L2 with the weights beside them (ResNet's 64 -> 64
            # on 56x56, 32 tiles: 1.27-1.42 against 1.41-1.51 ms with 6 MiB chunks of 336 tiles);
            # with more threads the chunks are shared out, and small ones leave the shares
            # uneven (nudenet's 64 -> 64 on 40x40: chunks of 32, 32, 32 and 4 tiles; the model
            # 1.04-1.05x slower at 2 threads, mtcnn_onet 1.12x), so about 6 MiB there
            a2cm = (mt + 2) ** 2 * (c + m)
            if t == 1:
                chunk = max(32, (1 << 17) // a2cm // 16 * 16)
            else:
                chunk = max(64, (3 << 19) // a2cm // 16 * 16)
            work = scratch(ext().winograd_work(mt, c, m, oh, ow, chunk, t))
            ext().winograd_conv(mt, x, ph, pw, self._winograd_weights(mt), m, bias, *self.bounds,
                                y, work, chunk, t, residual=z)  # fmt: skip
            return y
        w_direct = self.w_direct if const_w else None
        if not const_w and self.group == 1 and cg <= DIRECT_MAX_CIN:  # run-time weights
            w_direct = _direct_weights(w)  # (training): C*kh*kw x M floats, cheap per call
        if w_direct is not None:
            work = scratch(ext().conv_direct_work(c, h, wd, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow))
            bounds = self.bounds if z is None else _NO_CLIP
            if ext().conv_direct(x, w_direct, kh, kw, sh, sw, dh, dw, ph, pw, bias,
                                 *bounds, y, work, t):  # fmt: skip
                return y if z is None else self._add_residual(y, z)
        packed = self.packed() if const_w else self._pack(w)
        mg, k, hw = m // self.group, cg * kh * kw, oh * ow
        bp = scratch(ext().packed_b_size(k, hw))
        in_gemm = PACK_IN_GEMM and hasattr(ext(), "conv_gemm")
        if in_gemm and self.group == 1 and n > 1 and hasattr(ext(), "conv_gemm_batch"):
            # one call for the batch: one product for all images where the input is read in place
            zb = None if z is None else z.reshape(n, m, hw)
            ext().conv_gemm_batch(packed[0], x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bp,
                                  y.reshape(n, m, hw), bias, zb, *self.bounds, t)  # fmt: skip
            return y
        for i in range(n):
            for g in range(self.group):
                # the residual is added in the epilogue, before the clip
                xg = x[i, g * cg : (g + 1) * cg]
                yg = y[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                bg = None if bias is None else bias[g * mg : (g + 1) * mg]
                zg = None if z is None else z[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                if in_gemm:
                    ext().conv_gemm(packed[g], xg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bp,
                                    yg, bg, zg, *self.bounds, t)  # fmt: skip
                else:
                    self._pack_then_gemm(xg, (kh, kw), win, packed[g], bp, yg, bg, zg, t)
        return y

    def _pack_then_gemm(
        self, xg: Array, kernel: tuple[int, int], win: Any, ap: Array, bp: Array, yg: Array,
        bg: Array | None, zg: Array | None, t: int,
    ) -> None:  # fmt: skip
        """One image group's conv as the whole im2col packed first, then the GEMM (two pool
        calls: PACK_IN_GEMM off, or an extension older than conv_gemm)."""
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        (kh, kw), (cg, h, wd), (mg, hw) = kernel, xg.shape, yg.shape
        k = cg * kh * kw
        if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0) and (oh, ow) == (h, wd):
            ext().pack_b(xg.reshape(cg, h * wd), bp, t)
        else:
            ext().pack_b_conv(xg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bp, t)
        if zg is None:
            ext().gemm(mg, hw, k, ap, bp, yg, bg, None, *self.bounds, t)
        else:
            lo, hi, clip = self.bounds
            ep = ext().Epilogue(bias_row=bg, residual=zg, clip=clip, lo=lo, hi=hi)
            ext().gemm_ep(mg, hw, k, ap, bp, yg, ep, t)

    def _add_residual(self, y: Array, z: Array) -> Array:
        """y + z, then the epilogue's clip (for the paths whose C kernel takes no residual), by
        the element-wise C kernels (recorded for segments): the clip as the epilogue's, a NaN
        stays NaN and -0.0 stays -0.0 (numpy's maximum-then-minimum)."""
        flat, t = y.reshape(-1), threads()
        ext().binary(_ADD, flat, z.reshape(-1), flat, 1, 1, flat.size, False, False, True,
                     False, t)  # fmt: skip
        lo, hi, clip = self.bounds
        if clip:
            ext().unary(UNARY_OPS["Clip"], flat, flat, lo, hi, t)
        return y


def _prepare_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prepared = _Conv(node, constants)

    def conv(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b)

    return traceable(conv)


def _prepare_fused_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prepared = _Conv(node, constants)

    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None,
        z: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b, slope, z)

    return traceable(fused_conv)


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class ConvKernels(KernelBackend):
    """The convolution kernels (mixed into CythonBackend)."""

    @kernel(conv_1, dtypes=FLOATS, supports=_conv_refusal, prepare=_prepare_conv)
    def conv(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_conv_1, dtypes=FLOATS, supports=_conv_refusal, prepare=_prepare_fused_conv)
    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None,
        z: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
