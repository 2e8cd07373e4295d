"""The blocked channel layout NCHW8c (src/nchwc.h): the reorders at the ends of a blocked chain,
gossamer::NchwcConv (group-1 conv with an NCHW or blocked input, and depthwise conv; bias,
residual, Relu/Clip, HardSwish, LeakyRelu, HardSigmoid, Sigmoid or Swish, and a per-channel or
scalar scale and shift in the epilogue), the blocked MaxPool inside a chain, the two fused
(gossamer::NchwcConvMaxPool: the conv's result never written whole) and the blocked
GlobalAveragePool that ends a chain.

The graph pass converter/optimizer/channel_blocking.py plans these nodes; the kernels take
float32 only, blocks of 8 and 2-D convs, and decline anything else (the reference runs it).
Weights are packed once, at prepare time (pack_conv_weights; [C/8][kh][kw][8] for a depthwise
conv), so that the weights one tap of a register tile needs are adjacent vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import check_groups, window
from ..refimpl.ops.op_nchwc_conv import nchwc_conv_1
from ..refimpl.ops.op_nchwc_conv_max_pool import nchwc_conv_max_pool_1
from ..refimpl.ops.op_nchwc_global_average_pool import nchwc_global_average_pool_1
from ..refimpl.ops.op_nchwc_max_pool import nchwc_max_pool_1
from ..refimpl.ops.op_nchwc_reorder_input import nchwc_reorder_input_1
from ..refimpl.ops.op_nchwc_reorder_output import nchwc_reorder_output_1
from ._common import (
    F32,
    aligned_empty,
    all_float32,
    epilogue_bounds,
    threads,
    window_refusal,
)
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


def _blocked(v: Value | None, rank: int) -> str | None:
    """Why v is not a blocked (N, C/8, spatial..., 8) tensor of this rank (None: it is)."""
    if v is None or v.shape is None or len(v.shape) != rank:
        return f"input is not a rank-{rank} blocked tensor"
    if v.shape[-1] != BLOCK:
        return f"block {v.shape[-1]} (the kernels compute blocks of {BLOCK})"
    return None


def _reorder_in_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = inputs[0]
    if int(node.attrs.get("block_size", 8)) != BLOCK:
        return f"block_size {node.attrs.get('block_size')} (the kernels compute blocks of {BLOCK})"
    if x is None or x.shape is None or len(x.shape) < 3:
        return "input rank unknown or below 3"
    return all_float32(inputs[:1])


def _reorder_out_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = inputs[0]
    if x is None or x.shape is None or len(x.shape) < 4 or x.shape[-1] != BLOCK:
        return f"input is not blocked by {BLOCK}"
    return all_float32(inputs[:1])


def _conv_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32([inputs[0], *inputs[2:4]])
    if bad:
        return bad
    x, w = inputs[0], inputs[1]
    if w is None or w.shape is None or len(w.shape) != 4:
        return "only 2-D convolutions with a known weight shape"
    if x is None or x.shape is None or len(x.shape) not in (4, 5):
        return "input rank unknown"
    if len(x.shape) == 5 and x.shape[-1] != BLOCK:
        return f"block {x.shape[-1]} (the kernels compute blocks of {BLOCK})"
    m, group = w.shape[0], int(node.attrs.get("group", 1))
    if not isinstance(m, int) or m % BLOCK:
        return f"{m} output channels: not a multiple of {BLOCK}"
    if group != 1 and not (w.shape[1] == 1 and group == m and len(x.shape) == 5):
        return "grouped convolution other than depthwise on a blocked input"
    for i, name in ((4, "scale"), (5, "shift")):
        v = inputs[i] if len(inputs) > i else None
        if v is not None and _per_channel(v.shape, m) is None:
            return f"{name} {v.shape} is not a scalar or one value per output channel"
    return all_float32(inputs[4:6]) or _activation_refusal(node)


def _activation_refusal(node: Node) -> str | None:
    activation = str(node.attrs.get("activation", ""))
    if activation not in _PARAMS:
        return f"fused activation {activation} not in the epilogue"
    params = node.attrs.get("activation_params")
    if params and len(params) != len(_PARAMS[activation]):
        return f"{activation} takes {len(_PARAMS[activation])} activation_params"
    return None


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


def _gap_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    return _blocked(inputs[0], 5) or all_float32(inputs[:1])


def _max_pool_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if len([o for o in node.outputs if o]) > 1:
        return "one output only"
    return _blocked(inputs[0], 5) or all_float32(inputs[:1])


def _prepare_max_pool(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    a = node.attrs
    geometry = {k: a.get(k) for k in ("strides", "dilations", "pads")}
    geometry.update(kernel=a.get("kernel_shape"), auto_pad=a.get("auto_pad") or "NOTSET",
                    ceil_mode=int(a.get("ceil_mode", 0)))  # fmt: skip
    windows: dict[tuple[int, int], Any] = {}  # per input plane, built once

    def nchwc_max_pool(
        x: Array, *, kernel_shape: list[int], auto_pad: str = "NOTSET", ceil_mode: int = 0,
        dilations: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        n, cb, h, w, size = x.shape
        win = windows.get((h, w))
        if win is None:
            win = window((h, w), **geometry)
            refusal = window_refusal((h, w), win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(windows) < 64:
                windows[(h, w)] = win
        (oh, ow), (kh, kw) = win.out, win.kernel
        if oh <= 0 or ow <= 0 or n * cb == 0:
            raise RuntimeDecline(f"an empty output {[n, cb, oh, ow, size]}")
        y = output_array((n, cb, oh, ow, size))
        ext().nchwc_max_pool(np.ascontiguousarray(x, F32).reshape(-1), n, cb * size, h, w, kh,
                             kw, *win.strides, *win.dilations, *win.pads_begin, oh, ow,
                             y.reshape(-1), threads())  # fmt: skip
        return y

    return traceable(nchwc_max_pool)


def conv_weight_groups(blocks: int) -> list[int]:
    """The conv kernel's groups of output blocks, in order (src/nchwc.c nc_groups): fours, then
    the remainder (1 to 3 blocks) as one group. The same on every SIMD level (AVX-512 computes a
    group as two zmm of two blocks, AVX2 and generic a four as two passes of two blocks), so
    weights packed at one level run at another."""
    fours, rest = divmod(max(blocks, 0), 4)
    return [4] * fours + ([rest] if rest else [])


def pack_conv_weights(w: Array) -> Array:
    """w (M, C, kh, kw) as the conv kernel reads it: per group of output blocks
    (conv_weight_groups), [C][kh][kw][blocks][8], so that one tap's weights of the whole group
    are adjacent."""
    m, c, kh, kw = w.shape
    parts = []
    ob0 = 0
    for nb in conv_weight_groups(m // BLOCK):
        part = w[ob0 * BLOCK : (ob0 + nb) * BLOCK].reshape(nb, BLOCK, c, kh, kw)
        ob0 += nb
        parts.append(np.ascontiguousarray(part.transpose(2, 3, 4, 0, 1), F32).reshape(-1))
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
        params = {"layout": "dw" if depthwise else "groups", "shape": "x".join(map(str, w.shape))}
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


def _conv_max_pool_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if int(node.attrs.get("group", 1)) != 1:
        return "a grouped conv (the fused kernel computes group-1 convs)"
    return _conv_refusal(node, [*inputs[:3], None, *inputs[3:5]])


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


def _reorder(x: Array, out: bool) -> Array:
    if out:
        n, cb, *spatial, size = x.shape
        y = output_array((n, cb * size, *spatial))
    else:
        n, c, *spatial = x.shape
        if c % BLOCK:
            raise RuntimeDecline(f"{c} channels: not a multiple of {BLOCK}")
        y = output_array((n, c // BLOCK, *spatial, BLOCK))
    hw = int(np.prod(spatial, dtype=np.int64))
    c = y.shape[1] if out else x.shape[1]
    ext().nchwc_reorder(np.ascontiguousarray(x, F32).reshape(-1), n, c, hw, y.reshape(-1), out,
                        threads())  # fmt: skip
    return y


class NchwcKernels(KernelBackend):
    """The NCHW8c kernels (mixed into CythonBackend)."""

    @kernel(nchwc_reorder_input_1, dtypes={"float32"}, supports=_reorder_in_refusal)
    @traceable
    def nchwc_reorder_input(x: Array, *, block_size: int = 8) -> Array:
        return _reorder(x, False)

    @kernel(nchwc_reorder_output_1, dtypes={"float32"}, supports=_reorder_out_refusal)
    @traceable
    def nchwc_reorder_output(x: Array) -> Array:
        return _reorder(x, True)

    @kernel(nchwc_conv_1, dtypes={"float32"}, supports=_conv_refusal, prepare=_prepare_conv)
    def nchwc_conv(
        x: Array, w: Array, b: Array | None = None, z: Array | None = None,
        scale: Array | None = None, shift: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(nchwc_max_pool_1, dtypes={"float32"}, supports=_max_pool_refusal,
            prepare=_prepare_max_pool)
    def nchwc_max_pool(
        x: Array, *, kernel_shape: list[int], auto_pad: str = "NOTSET", ceil_mode: int = 0,
        dilations: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(
        nchwc_conv_max_pool_1,
        dtypes={"float32"},
        supports=_conv_max_pool_refusal,
        prepare=_prepare_conv_max_pool,
    )
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
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(nchwc_global_average_pool_1, dtypes={"float32"}, supports=_gap_refusal)
    @traceable
    def nchwc_global_average_pool(x: Array) -> Array:
        n, cb, h, w, size = x.shape
        y = output_array((n, cb * size, 1, 1))
        ext().nchwc_global_average(np.ascontiguousarray(x, F32).reshape(-1), n, cb * size, h * w,
                                   y.reshape(-1), threads())  # fmt: skip
        return y
