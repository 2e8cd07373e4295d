"""The blocked conv's prepared side (gossamer::NchwcConv, gossamer::NchwcConvMaxPool and
gossamer::NchwcDepthwisePointwise): the
weights packed once, at prepare time (pack_conv_weights; [C/8][kh][kw][8] for a depthwise conv)
so that the weights one tap of a register tile needs are adjacent vectors, or their stored form
(`gossamer convert --pack cython`), the epilogue's bounds, activation and per-channel scale /
shift, the window once per input shape, and the two prepare hooks that call src/nchwc.c. The
kernel table and the refusals are nchwc_kernels.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl.ir import Node
from ..refimpl.op_geometry import check_groups, window
from ._common import F32, aligned_empty, epilogue_bounds, threads, window_refusal
from ._native import ext
from .prepacked import packed_form
from .segments import traceable

Array = np.ndarray
BLOCK = 8  # the block the C kernels compute (a vector of 8 floats on every SIMD level)
# activations after the clip: src/nchwc.h GK_NCHWC_ACT_* (Relu and Clip are the clip itself)
POST_ACTS = {"HardSwish": 1, "LeakyRelu": 2, "HardSigmoid": 3, "Sigmoid": 4, "Swish": 5}
# activation -> its activation_params' defaults (the reference's, refimpl/ops/_fused_activation)
_PARAMS = {"": (), "Relu": (), "Clip": (-np.inf, np.inf), "HardSwish": (), "Sigmoid": (),
           "LeakyRelu": (0.01,), "HardSigmoid": (0.20000000298023224, 0.5),
           "Swish": (1.0,)}  # fmt: skip


def _per_channel(shape: tuple | None, m: int) -> int | None:
    """How many values a scale/shift of this shape holds when it broadcasts onto an NCHW
    (N, m, H, W) result as a scalar (1) or per channel (m); None otherwise."""
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    size = int(np.prod(shape, dtype=np.int64))
    if size == 1 and len(shape) <= 4:
        return 1
    if len(shape) < 3 or len(shape) > 4 or shape[-3] != m or size != m:
        return None
    return m


def _channel_vector(v: Array | None, m: int) -> Array | None:
    """A scale/shift as m float32s (a scalar repeated)."""
    if v is None:
        return None
    if _per_channel(tuple(v.shape), m) is None:
        raise RuntimeDecline(f"scale/shift {list(v.shape)} is not a scalar or per-channel")
    flat = np.ascontiguousarray(v, F32).reshape(-1)
    return np.full(m, flat[0], F32) if flat.size == 1 else flat


def conv_weight_groups(blocks: int) -> list[int]:
    """The conv kernel's groups of output blocks, in order (src/nchwc.c nc_groups): fours, then
    the remainder (1 to 3 blocks) as one group. The same on every SIMD level (AVX-512 computes a
    group as two zmm of two blocks, AVX2 and generic a four as two passes of two blocks), so
    weights packed at one level run at another."""
    fours, rest = divmod(max(blocks, 0), 4)
    return [4] * fours + ([rest] if rest else [])


def pack_conv_weights(w: Array) -> Array:
    """w (M, C, kh, kw) as the conv kernel reads it: per group of output blocks
    (conv_weight_groups), [C/cb][kh][kw][cb][blocks][8] with cb = 8 where C is whole 8-channel
    blocks (else 1): one tap's weights of the whole group adjacent, and a block's taps one after
    another in the order the tiles read them (src/nchwc_kernels.inc nc_tap_w; a 1x1 conv's is
    [C][blocks][8] either way)."""
    m, c, kh, kw = w.shape
    cb = BLOCK if c % BLOCK == 0 else 1
    parts = []
    ob0 = 0
    for nb in conv_weight_groups(m // BLOCK):
        part = w[ob0 * BLOCK : (ob0 + nb) * BLOCK].reshape(nb, BLOCK, c // cb, cb, kh, kw)
        ob0 += nb
        parts.append(np.ascontiguousarray(part.transpose(2, 4, 5, 3, 0, 1), F32).reshape(-1))
    return np.concatenate(parts)


def _packed_nchwc(w: Array, depthwise: bool) -> Array:
    """_Conv's weight layout of w (M, C/group, kh, kw), on a 64-byte boundary."""
    m, _, kh, kw = w.shape
    w = np.asarray(w, F32)
    if depthwise:  # [C/8][kh][kw][8]
        packed = w.reshape(m // BLOCK, BLOCK, kh, kw).transpose(0, 2, 3, 1)
    else:
        packed = pack_conv_weights(w)
    # on a 64-byte boundary: numpy's 16 would split every zmm weight load over two cache
    # lines (ResNet-18's 512 -> 512 3x3 on 7x7: ~1.1x the time; nchwc_kxk_bench.c WOFF=4)
    out = aligned_empty(packed.size).reshape(packed.shape)
    out[...] = packed
    return out


class _Conv:
    """One NchwcConv node, prepared: the packed weights, the bias and the epilogue's bounds."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        a = node.attrs
        self.geometry = {k: a.get(k) for k in ("dilations", "kernel_shape", "pads", "strides")}
        self.auto_pad = a.get("auto_pad") or "NOTSET"
        self.group = int(a.get("group", 1))
        activation = str(a.get("activation", ""))
        params = [float(p) for p in a.get("activation_params") or _PARAMS.get(activation, ())]
        if activation in POST_ACTS:
            self.lo, self.hi = -np.inf, np.inf
            self.act = POST_ACTS[activation]
            self.alpha, self.beta = (params + [0.0, 0.0])[:2]
        else:
            self.lo, self.hi, _ = epilogue_bounds(activation, a.get("activation_params"))
            self.act, self.alpha, self.beta = 0, 0.0, 0.0
        w = constants.get(1)
        self.w_shape = None if w is None else tuple(w.shape)
        self.packed = None if w is None else self._pack(w)
        b = constants.get(2)
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)
        m = None if w is None else w.shape[0]
        self.post = {i: _channel_vector(constants[i], m) for i in (4, 5) if i in constants and m}
        self.windows: dict[tuple, Any] = {}

    def _pack(self, w: Array) -> Array:
        m, cg, kh, kw = w.shape
        depthwise = self.group > 1
        # a stored form (`gossamer convert --pack cython`) of a constant weight, else packed here
        shape = (m // BLOCK, kh, kw, BLOCK) if depthwise else (m * cg * kh * kw,)
        # "taps": pack_conv_weights' block-major tap order (the stored forms of the older
        # channel-major "groups" layout repack)
        params = {"layout": "dw" if depthwise else "taps", "shape": "x".join(map(str, w.shape))}
        return packed_form(w, "nchwc.conv", params, shape, lambda: _packed_nchwc(w, depthwise))

    def window(self, x: Array, w: Array) -> Any:
        """The conv's window on x (once per input shape: the geometry is Python work)."""
        blocked = x.ndim == 5
        c = x.shape[1] * (x.shape[-1] if blocked else 1)
        h, wd = x.shape[2], x.shape[3]
        key = (x.shape, w.shape)
        win = self.windows.get(key)
        if win is None:  # once per input shape (the geometry is Python work)
            check_groups(c, w.shape, self.group)
            g = self.geometry
            win = window(
                (h, wd),
                g["kernel_shape"] or w.shape[2:],
                strides=g["strides"],
                dilations=g["dilations"],
                pads=g["pads"],
                auto_pad=self.auto_pad,
            )
            refusal = window_refusal((h, wd), win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(self.windows) < 64:
                self.windows[key] = win
        return win

    def operands(self, w: Array, b: Array | None, scale: Array | None,
                 shift: Array | None) -> tuple[Array, Array | None, tuple]:  # fmt: skip
        """The packed weights, the bias and the epilogue's (act, alpha, beta, scale, shift)."""
        m = w.shape[0]
        packed = self.packed if tuple(w.shape) == self.w_shape else self._pack(w)
        bias = self.bias if self.bias is not None or b is None else np.ascontiguousarray(b, F32)
        sc = self.post[4] if 4 in self.post else _channel_vector(scale, m)
        sf = self.post[5] if 5 in self.post else _channel_vector(shift, m)
        return packed, bias, (self.act, self.alpha, self.beta, sc, sf)

    def __call__(
        self, x: Array, w: Array, b: Array | None, z: Array | None, scale: Array | None,
        shift: Array | None,
    ) -> Array:  # fmt: skip
        blocked = x.ndim == 5
        n, c = x.shape[0], x.shape[1] * (x.shape[-1] if blocked else 1)
        h, wd = x.shape[2], x.shape[3]
        m, _, kh, kw = w.shape
        win = self.window(x, w)
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        packed, bias, post = self.operands(w, b, scale, shift)
        y = output_array((n, m // BLOCK, oh, ow, BLOCK))
        if z is not None and z.shape != y.shape:
            raise RuntimeDecline(f"residual {list(z.shape)} is not the output {list(y.shape)}")
        xf = np.ascontiguousarray(x, F32).reshape(-1)
        zf = None if z is None else np.ascontiguousarray(z, F32).reshape(-1)
        if self.group > 1:
            ext().nchwc_depthwise(xf, n, c, h, wd, packed.reshape(-1), kh, kw, sh, sw, dh, dw,
                                  ph, pw, oh, ow, bias, zf, self.lo, self.hi, y.reshape(-1),
                                  threads(), *post)  # fmt: skip
        else:
            ext().nchwc_conv(
                xf,
                n,
                c,
                h,
                wd,
                blocked,
                packed,
                m,
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
                bias,
                zf,
                self.lo,
                self.hi,
                y.reshape(-1),
                threads(),
                *post,
            )
        return y


def _prepare_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prepared = _Conv(node, constants)

    def nchwc_conv(
        x: Array, w: Array, b: Array | None = None, z: Array | None = None,
        scale: Array | None = None, shift: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b, z, scale, shift)

    return traceable(nchwc_conv)


def _prepare_conv_max_pool(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    # the conv's inputs at NchwcConv's places (scale, shift: 4 and 5, after its residual)
    conv = _Conv(node, {{3: 4, 4: 5}.get(i, i): v for i, v in constants.items()})
    a = node.attrs
    geometry = {k: a.get(f"pool_{k}") for k in ("strides", "dilations", "pads")}
    geometry.update(kernel=a.get("pool_kernel_shape"), auto_pad=a.get("pool_auto_pad") or "NOTSET",
                    ceil_mode=int(a.get("pool_ceil_mode", 0)))  # fmt: skip
    windows: dict[tuple[int, int], Any] = {}  # per conv output plane

    def nchwc_conv_max_pool(
        x: Array, w: Array, b: Array | None = None, scale: Array | None = None,
        shift: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None, pool_kernel_shape: list[int],
        pool_auto_pad: str = "NOTSET", pool_ceil_mode: int = 0,
        pool_dilations: list[int] | None = None, pool_pads: list[int] | None = None,
        pool_strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        blocked = x.ndim == 5
        n, c = x.shape[0], x.shape[1] * (x.shape[-1] if blocked else 1)
        m, _, kh, kw = w.shape
        cw = conv.window(x, w)
        (oh, ow), plane = cw.out, (x.shape[2], x.shape[3])
        pw_ = windows.get((oh, ow))
        if pw_ is None:
            pw_ = window((oh, ow), **geometry)
            refusal = window_refusal((oh, ow), pw_)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(windows) < 64:
                windows[(oh, ow)] = pw_
        (poh, pow_) = pw_.out
        if poh <= 0 or pow_ <= 0 or n == 0:
            raise RuntimeDecline(f"an empty output {[n, m // BLOCK, poh, pow_, BLOCK]}")
        packed, bias, post = conv.operands(w, b, scale, shift)
        y = output_array((n, m // BLOCK, poh, pow_, BLOCK))
        ext().nchwc_conv_max_pool(
            np.ascontiguousarray(x, F32).reshape(-1), n, c, *plane, blocked, packed, m, kh, kw,
            *cw.strides, *cw.dilations, *cw.pads_begin, oh, ow, bias, conv.lo, conv.hi,
            *pw_.kernel, *pw_.strides, *pw_.dilations, *pw_.pads_begin, poh, pow_,
            y.reshape(-1), threads(), *post,
        )  # fmt: skip
        return y

    return traceable(nchwc_conv_max_pool)


def _prepare_depthwise_pointwise(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    # the depthwise conv (inputs 1, 2; the node's attributes) and the 1x1 (inputs 3, 4; its pw_
    # activation) as two prepared NchwcConvs
    dw = _Conv(node, {i: v for i, v in constants.items() if i in (1, 2)})
    a = node.attrs
    pw_attrs = {"kernel_shape": [1, 1], "activation": a.get("pw_activation", "")}
    if a.get("pw_activation_params") is not None:
        pw_attrs["activation_params"] = a["pw_activation_params"]
    pw_node = Node("NchwcConv", [], [], pw_attrs, f"{node.name}_pw", node.domain)
    pw = _Conv(pw_node, {i - 2: v for i, v in constants.items() if i in (3, 4)})

    def nchwc_depthwise_pointwise(
        x: Array, w: Array, b: Array | None = None, pw_w: Array | None = None,
        pw_b: Array | None = None, z: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None, pw_activation: str = "",
        pw_activation_params: list[float] | None = None,
    ) -> tuple[Array, Array]:  # fmt: skip
        if pw_w is None:
            raise RuntimeDecline("the 1x1 conv's weights are missing")
        n, cb, h, wd, size = x.shape
        c, m, (_, _, kh, kw) = cb * size, pw_w.shape[0], w.shape
        if tuple(pw_w.shape) != (m, c, 1, 1):
            raise RuntimeDecline(f"1x1 weights {list(pw_w.shape)} for {c} channels")
        win = dw.window(x, w)
        (oh, ow) = win.out
        if oh <= 0 or ow <= 0 or n == 0:
            raise RuntimeDecline(f"an empty output {[n, m // BLOCK, oh, ow, BLOCK]}")
        dpacked, dbias, _ = dw.operands(w, b, None, None)
        ppacked, pbias, _ = pw.operands(pw_w, pw_b, None, None)
        y = output_array((n, m // BLOCK, oh, ow, BLOCK))
        if z is not None and z.shape != y.shape:
            raise RuntimeDecline(f"residual {list(z.shape)} is not the output {list(y.shape)}")
        zf = None if z is None else np.ascontiguousarray(z, F32).reshape(-1)
        t = output_array((n, cb, oh, ow, size))  # the depthwise result: each part's rows
        ext().nchwc_depthwise_pointwise(
            np.ascontiguousarray(x, F32).reshape(-1), n, c, h, wd, dpacked.reshape(-1), kh, kw,
            *win.strides, *win.dilations, *win.pads_begin, oh, ow, dbias, dw.lo, dw.hi,
            ppacked, m, pbias, zf, pw.lo, pw.hi, t.reshape(-1), y.reshape(-1), threads(),
        )  # fmt: skip
        return y, t

    return traceable(nchwc_depthwise_pointwise)
