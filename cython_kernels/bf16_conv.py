"""Conv and FusedConv in bfloat16 with float32 accumulation (the `cython-bf16` backend's
convolutions; its table: bf16_kernels.py): the activations rounded while the im2col panels are
packed, the weights once. Depthwise convs and stems (few input channels on a large plane) are
declined."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..plugins.run_context import check_allocation
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
from .bf16_matmul import U32, _packed, pack_a
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
# a stem (as above) is taken where the AMX tiles are in use at load, as a direct conv with its
# kernel's columns folded into the channels (_run_folded: c * kw channels, a kh x 1 kernel; the
# direct conv pads channels to 32, so 3 channels alone would waste 29 of 32); False: declined
FOLD_STEMS = True
# the direct conv's pair planes in one buffer per Python thread, 2 MB-aligned in a region numpy
# advises for transparent huge pages (_planes); False: a fresh np.empty per call (benchmarks)
REUSE_PLANES = True
# in a bf16 session, 1x1 convs with at most this many input or output channels may join the
# float32 blocked chains (keep_nchw); 0: every conv this backend runs stays NCHW
BLOCKED_1X1_CHANNELS = 64
# where the AMX tiles are in use at load, every stride-1 unpadded 1x1 (Relu / Clip or none) may
# join the blocked chains, where cython-bf16 runs it on the tiles in the blocked layout
# (bf16_nchwc_conv.py); False: BLOCKED_1X1_CHANNELS alone decides (benchmarks)
BLOCKED_1X1_AMX = True
# a conv's window (geometry checks, output size) computed once per input shape and kept (about 5
# us of Python per call); False: every call (benchmarks)
CACHE_WINDOWS = True
_WINDOWS_KEPT = 8
FOLD_MIN = 16  # the fewest folded channels (c * kw) worth the fold: _foldable
_HUGE = 2 << 20
_planes_tls = threading.local()


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
    if (
        w is not None
        and w[1] is not None
        and w[1] <= FEW_CHANNELS
        and (plane or 0) >= LARGE_PLANE
        and not (FOLD_STEMS and group == 1 and _foldable(w) and _amx_now())
    ):
        return (
            f"{w[1]} input channels per group on a {plane}-pixel plane: the float32 direct conv "
            "is faster than im2col + bf16 there"
        )
    return None


def keep_nchw(node: Node, values: dict[str, Value]) -> bool:
    """Whether the layout pass (converter/optimizer/channel_blocking.py) keeps the conv `node`
    (its inputs' types and shapes in `values`) NCHW in a bf16 session: the convs this backend
    runs, but for 1x1s with at most BLOCKED_1X1_CHANNELS input or output channels, which the
    pass may block with the float32 depthwise convs and stems around them (the float32 blocked
    kernel then runs them; a chain the pass does not keep leaves them to this backend), and,
    where the AMX tiles are in use (BLOCKED_1X1_AMX), every plain 1x1 (the blocked AMX 1x1 of
    bf16_nchwc_conv.py then runs it)."""
    inputs = [values.get(name) if name else None for name in node.inputs]
    if conv_refusal(node, inputs) is not None:
        return False
    w = static_shape(inputs[1]) if len(inputs) > 1 else None
    if w is None or len(w) != 4 or None in w or int(node.attrs.get("group", 1)) != 1:
        return True
    if tuple(w[2:]) != (1, 1):
        return True
    if BLOCKED_1X1_AMX and _amx_now() and blocked_1x1_attribute_refusal(node) is None:
        return False  # bf16_nchwc_conv.py runs it on the tiles inside the chain
    return min(w[0], w[1]) > BLOCKED_1X1_CHANNELS


def blocked_1x1_attribute_refusal(node: Node) -> str | None:
    """Why a 1x1 conv's stride, pads or fused activation are not the blocked AMX 1x1's
    (bf16_nchwc_conv.py; None: they are): what keep_nchw asks before a 1x1 joins a blocked chain,
    and what that kernel's refusal asks of the NchwcConv."""
    a = node.attrs
    if any(int(s) != 1 for s in a.get("strides") or [1, 1]) or any(
        int(p) for p in a.get("pads") or [0] * 4
    ):
        return "strided or padded (stride 1, no pads only)"
    if (a.get("auto_pad") or "NOTSET") not in ("NOTSET", "VALID"):
        return f"auto_pad {a.get('auto_pad')}"
    activation = str(a.get("activation", ""))
    if activation not in ("", "Relu", "Clip"):  # the other blocked activations stay float32
        return f"fused activation {activation} (Relu and Clip only; the float32 kernel runs it)"
    return None


def _planes(n: int, slot: str = "buf") -> Array:
    """n uint32 of pair planes (overwritten by every direct conv): this Python thread's buffer
    (one per slot: a bf16 hand-off keeps a second, bf16_conv_pair.py), grown as needed. Its start
    is 2 MB-aligned inside an allocation of at least 4 MB, which numpy
    advises for transparent huge pages: a B tile's 16 rows lie one plane apart (up to ~100 KB: the
    stem's), so with 4 KB pages every tile load walks 16 pages; huge pages took ResNet-18's stem
    from 10.2 to 1.9 ms (median, load 7, docs/bf16.md). The reuse also saves the page faults of a
    fresh buffer per call."""
    if not REUSE_PLANES:
        return np.empty(n, U32)
    buf = getattr(_planes_tls, slot, None)
    if buf is None or buf.size < n:
        nbytes = -(-4 * max(n, 1) // _HUGE) * _HUGE
        check_allocation(nbytes + _HUGE, f"the bf16 direct conv's pair planes ({n} pairs)")
        raw = np.empty(max(nbytes + _HUGE, 2 * _HUGE), np.uint8)
        off = -raw.ctypes.data % _HUGE
        buf = raw[off : off + nbytes].view(U32)
        setattr(_planes_tls, slot, buf)
    return buf[:n]


def _amx_now() -> bool:
    """Whether the bf16 kernels run on the AMX tiles (the pair step selected as at prepare)."""
    select_bf16_impl()
    return bool(ext().bf16_amx())


def _foldable(w: tuple) -> bool:
    """Whether a stem of weight shape w folds its columns into FOLD_MIN to 32 channels (one pair
    block of the direct conv) with more than one row left as taps. Below FOLD_MIN the zero
    channels cost more than the float32 direct conv: MobileNetV2's 3x3 stem (9 channels folded)
    ran 1.16-1.33 ms folded against 0.67-0.70 in float32; ResNet-18's 7x7 (21) 3.07 against 3.47
    (p10 of one process, load 7; docs/bf16.md)."""
    return len(w) == 4 and None not in w and FOLD_MIN <= w[1] * w[3] <= 32 and w[2] > 1 and w[3] > 1


class _Bf16Conv:
    """One Conv node: its weights as bf16 panels per group (packed once if constant)."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        conv_attributes(self, node)
        w = constants.get(1)
        self.w_shape = None if w is None else _as_4d(w).shape
        self.packed = None if w is None else self._pack(_as_4d(w))
        self.packed_direct: Array | None = None  # the direct conv's weights, at its first run
        self.packed_folded: Array | None = None  # the same for a stem with folded columns
        # the window of each (input shape, weight shape, geometry) seen (a few: dynamic shapes)
        self.windows: dict[tuple, Any] = {}
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
        key = (x.shape, w.shape, id(geometry))
        win = self.windows.get(key) if CACHE_WINDOWS else None
        if win is None:
            win = window(x.shape[2:], geometry["kernel_shape"] or w.shape[2:],
                         strides=geometry["strides"], dilations=geometry["dilations"],
                         pads=geometry["pads"], auto_pad=geometry["auto_pad"])  # fmt: skip
            refusal = window_refusal(x.shape[2:], win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(self.windows) >= _WINDOWS_KEPT:
                self.windows.clear()
            self.windows[key] = win
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
        if (
            FOLD_STEMS
            and self.group == 1
            and self._direct(kh, sh, 1)
            and (cg <= FEW_CHANNELS and h * wd >= LARGE_PLANE and _foldable(w.shape))
        ):
            return self._run_folded(x, w, bias, z, y, (kh, kw, sh, sw, dh, dw, ph, pw, oh, ow))
        if self._direct(kh * kw, sh, sw):
            # on the AMX tiles: the direct conv, no im2col
            if tuple(w.shape) == self.w_shape:
                if self.packed_direct is None:
                    self.packed_direct = self._pack_direct(w)
                wdir = self.packed_direct
            else:
                wdir = self._pack_direct(w)
            planes = _planes(ext().bf16_conv_planes_size(c, kh, kw, sh, sw, dh, dw, oh, ow))
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
        bp = _packed(ext().bf16_packed_b_size(k, hw))
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

    def _run_folded(self, x, w, bias, z, y, win) -> Array:  # noqa: ANN001 - run()'s arrays
        """A stem on the AMX tiles: the direct conv of its columns folded into channels (x'[ci * kw
        + kx, y, xo] = the left/right padded image at (y, sw * xo + kx * dw)) with a kh x 1 kernel
        W'[m, ci * kw + kx, ky] = W[m, ci, ky, kx]; the C call gathers the fold while it rounds
        the pair planes (a numpy fold took ~0.29 of ResNet-18's ~0.8-1.1 ms stem node)."""
        kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = win
        m, c = w.shape[:2]
        folded = None if tuple(w.shape) != self.w_shape else self.packed_folded
        if folded is None:
            wf = np.ascontiguousarray(w.transpose(0, 1, 3, 2), F32).reshape(m, c * kw, kh, 1)
            folded = self._pack_direct(wf)
            if tuple(w.shape) == self.w_shape:
                self.packed_folded = folded
        lo, hi, clip = self.bounds
        hw, t = oh * ow, threads()
        planes = _planes(ext().bf16_conv_planes_size(c * kw, kh, 1, sh, 1, dh, 1, oh, ow))
        for i in range(x.shape[0]):
            zi = None if z is None else z[i].reshape(m, hw)
            ep = ext().Epilogue(bias_row=bias, residual=zi, clip=bool(clip), lo=lo, hi=hi)
            ext().bf16_conv_direct_fold(
                x[i], kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, folded, planes, y[i].reshape(m, hw),
                ep, t,
            )  # fmt: skip
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
