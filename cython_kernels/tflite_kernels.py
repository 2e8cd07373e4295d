"""tflite::Conv2D, DepthwiseConv2D and FullyConnected (8-bit, NHWC) on the exact int8 kernels.

The same packing and GEMM core as the ONNX int8 ops (src/qgemm.h: zero-point-shifted int16 pairs,
int32 accumulation with wrap), with TFLite's fixed-point epilogue: acc + bias, per-channel
MultiplyByQuantizedMultiplier (double rounding), + output zero point, clamp to the fused
activation's range. Multipliers, shifts and ranges come from the reference's own helpers
(refimpl/ops/tflite_integer.py) once per node, so the kernels agree with it bit for bit.

Conv2D: the weights (OHWI) packed once as the GEMM's right operand; the NHWC input's windows
(padding = the input zero point) are the rows of its left operand, so the output is NHWC as it
comes out. DepthwiseConv2D: a direct NHWC kernel (src/qconv.h gk_qdepthwise_nhwc: int32 sums
per output pixel over the channels, taps outside the image skipped, any depth multiplier).
FullyConnected: x as [-1, K] rows against the packed weights. Declined: 16-bit activations,
grouped Conv2D, shifts above 30 (multipliers over 2^30), non-int32 bias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.errors import OpArgumentError
from ..refimpl.ir import Node, Value
from ..refimpl.ops import tflite_integer as ti
from ..refimpl.ops.op_tfl_conv_2d import tfl_conv_2d_1
from ..refimpl.ops.op_tfl_depthwise_conv_2d import tfl_depthwise_conv_2d_1
from ..refimpl.ops.op_tfl_fully_connected import tfl_fully_connected_1
from ._common import scratch, threads
from ._native import ext
from ._qcommon import EIGHT_BIT, as_bytes, epilogue, qtype
from .segments import traceable

Array = np.ndarray
_DW_MAX_TAPS = 33000  # src/qconv.h GK_QDW_NHWC_MAX_TAPS (int32 sums cannot overflow)
_8BIT = (np.dtype(np.int8), np.dtype(np.uint8))
_MAX_SHIFT = 30  # src/qgemm.h: the fixed-point epilogue's left shift stays inside int32


def _refusal(node: Node, inputs: list[Value | None]) -> str | None:
    w = inputs[3] if len(inputs) > 3 else None
    if w is not None and w.dtype not in EIGHT_BIT:
        return f"weights are {w.dtype} (uint8/int8 only)"
    bias = inputs[8] if len(inputs) > 8 else None
    if bias is not None and bias.dtype not in (None, "int32"):
        return f"bias is {bias.dtype} (int32 only)"
    x = inputs[0]
    if node.op_type == "Conv2D" and x is not None and w is not None and x.shape and w.shape:
        if len(x.shape) == 4 and len(w.shape) == 4 and x.shape[3] != w.shape[3]:
            return "grouped convolution (input channels != filter depth)"
    return None


def _zero_point(zp: Array | None, dtype: np.dtype, what: str) -> int:
    """A per-tensor zero point inside its operand's 8-bit range (the packing's bounds)."""
    try:
        z = ti.zero_point(zp, what)
    except OpArgumentError as err:
        raise RuntimeDecline(str(err)) from None
    info = np.iinfo(dtype)
    if not info.min <= z <= info.max:
        raise RuntimeDecline(f"{what} {z} is outside {dtype}")
    return z


def _epilogue(
    x: Array, x_scale: Array, w_scale: Array, y_scale: Array, y_zp: Array | None,
    bias: Array | None, channels: int, per_channel: bool, activation: str, per_row: bool,
) -> object:  # fmt: skip
    """The fixed-point epilogue of an output whose channel is the GEMM's row (per_row) or
    column, exactly as `output_stage` derives it."""
    try:
        mult, shift = ti.product_multipliers(x_scale, w_scale, y_scale, channels, per_channel)
        zp = ti.zero_point(y_zp, "y_zero_point")
        lo, hi = ti.activation_range(activation, y_scale, np.asarray(zp), x.dtype)
    except OpArgumentError as err:
        raise RuntimeDecline(str(err)) from None
    if np.any(shift > _MAX_SHIFT):
        raise RuntimeDecline(f"a requantisation shift of {int(shift.max())} (at most 30)")
    b = None
    if bias is not None:
        if bias.dtype != np.int32 or bias.size != channels:
            raise RuntimeDecline(f"bias {bias.dtype}[{bias.size}] (int32, {channels} values)")
        b = bias.reshape(-1, 1) if per_row else bias.reshape(-1)
    one = bool(np.all(mult == mult[0]) and np.all(shift == shift[0]))
    m = np.ascontiguousarray(mult[:1] if one else mult, np.int32)
    s = np.ascontiguousarray(shift[:1] if one else shift, np.int32)
    rows, cols = (channels, 1) if per_row else (1, channels)
    ep: Any = epilogue(qtype(x, "input"), None, 0.0, b, rows=rows, cols=cols)
    step = 0 if one else 1
    try:
        return ep.fixed_point(m, s, step if per_row else 0, 0 if per_row else step, zp, lo, hi)
    except ValueError as err:
        raise RuntimeDecline(str(err)) from None


class _Node:
    """One node, prepared: packed weights and the epilogue, kept when their inputs are constant."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        self.inputs, self.constants = list(node.inputs), constants
        self.packed: Any = None
        self.ep: object | None = None
        self.zx: int | None = None
        self.shapes: dict[tuple, tuple[int, ...]] = {}

        self.const_w, self.const_ep = self.fixed(3, 5), self.fixed(1, 4, 6, 7, 8)
        self.const_zx = self.fixed(2)

    def fixed(self, *indices: int) -> bool:
        return all(
            i in self.constants or i >= len(self.inputs) or not self.inputs[i] for i in indices
        )

    def weights(self, pack: Callable[[], Any]) -> Any:
        if not self.const_w:
            return pack()
        if self.packed is None:
            self.packed = pack()
        return self.packed

    def x_zero_point(self, x: Array, zp: Array | None) -> int:
        if self.zx is None or not self.const_zx:
            self.zx = _zero_point(zp, x.dtype, "x_zero_point")
        return self.zx

    def geometry(self, x: Array, kh: int, kw: int, strides: list[int] | None,
                 dilations: list[int] | None, padding: str) -> tuple[int, ...]:  # fmt: skip
        key = (x.shape, kh, kw)
        g = self.shapes.get(key)
        if g is None:
            g = _geometry(x, kh, kw, strides, dilations, padding)
            if len(self.shapes) < 16:
                self.shapes[key] = g
        return g

    def epilogue(self, build: Callable[[], object]) -> object:
        if not self.const_ep:
            return build()
        if self.ep is None:
            self.ep = build()
        return self.ep


def _pack_b(w2: Array, w: Array, w_zp: Array | None) -> Array:
    """w2 [N, K] (rows = output channels) minus the weight zero point, packed as the GEMM's B."""
    zw = _zero_point(w_zp, w.dtype, "w_zero_point")
    n, k = w2.shape
    out = np.empty(ext().qpacked_b_size(k, n), np.int16)
    ext().qpack_b(as_bytes(w2).T, qtype(w, "weights"), np.array([zw], np.int32), out, threads())
    return out


_ZERO_POINTS: dict[int, Array] = {}  # zx -> [zx] int32, kept (recorded calls point at it)


def _gemm(a: Array, x: Array, zx: int, bp: Array, y2: Array, ep: object) -> None:
    """y2 [M, N] = epilogue(a [M, K] (bytes, any strides) - zx times the packed B)."""
    (m, k), n = a.shape, y2.shape[1]
    t = threads()
    ap = scratch((ext().qpacked_a_size(m, k) + 1) // 2).view(np.int16)
    za = _ZERO_POINTS.get(zx)
    if za is None:
        za = _ZERO_POINTS.setdefault(zx, np.array([zx], np.int32))
    ext().qpack_a(a, qtype(x, "input"), za, ap, t)
    ext().qgemm(m, n, k, ap, bp, y2, ep, 0, 0, t)


def _geometry(x: Array, kh: int, kw: int, strides: list[int] | None,
              dilations: list[int] | None, padding: str) -> tuple[int, ...]:  # fmt: skip
    """(sh, sw, dh, dw, oh, top, ow, left) as TFLite pads."""
    (sh, sw), (dh, dw) = strides or [1, 1], dilations or [1, 1]
    try:
        (oh, top), (ow, left) = (
            ti.out_and_pad(size, k, s, d, padding)
            for size, k, s, d in ((x.shape[1], kh, sh, dh), (x.shape[2], kw, sw, dw))
        )
    except OpArgumentError as err:
        raise RuntimeDecline(str(err)) from None
    return sh, sw, dh, dw, oh, top, ow, left


def _windows(x: Array, zx: int, kh: int, kw: int, g: tuple[int, ...]) -> Array:
    """[N*OH*OW, KH*KW*C] bytes: each output position's window (the input zero point outside)."""
    sh, sw, dh, dw, oh, top, ow, left = g
    n, h, wd, c = x.shape
    xb = as_bytes(x)
    if kh == kw == sh == sw == 1 and (oh, ow) == (h, wd):
        return xb.reshape(n * h * wd, c)
    bottom = max((oh - 1) * sh + (kh - 1) * dh + 1 - h - top, 0)
    right = max((ow - 1) * sw + (kw - 1) * dw + 1 - wd - left, 0)
    if top or bottom or left or right:
        fill = np.array([zx], x.dtype).view(np.uint8)[0]
        xb = np.pad(xb, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    s = xb.strides
    view = as_strided(xb, (n, oh, ow, kh, kw, c),
                      (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]))  # fmt: skip
    return view.reshape(n * oh * ow, kh * kw * c)


def _prepare_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _Node(node, constants)

    def conv_2d(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, bias: Array | None = None, *,
        strides: list[int] | None = None, dilations: list[int] | None = None,
        padding: str = "VALID", activation: str = "NONE",
    ) -> Array:  # fmt: skip
        if x.ndim != 4 or w.ndim != 4 or w.shape[3] != x.shape[3] or w.dtype not in _8BIT:
            raise RuntimeDecline(f"x {list(x.shape)}, w {w.dtype}{list(w.shape)}: not a plain conv")
        o, kh, kw, c = w.shape
        g = prep.geometry(x, kh, kw, strides, dilations, padding)
        zx = prep.x_zero_point(x, x_zero_point)
        ep = prep.epilogue(lambda: _epilogue(
            x, x_scale, w_scale, y_scale, y_zero_point, bias, o, x.dtype != np.uint8, activation,
            False))  # fmt: skip
        bp = prep.weights(lambda: _pack_b(w.reshape(o, kh * kw * c), w, w_zero_point))
        y = output_array((x.shape[0], g[4], g[6], o), x.dtype)
        if y.size:
            _gemm(_windows(x, zx, kh, kw, g), x, zx, bp, y.reshape(-1, o), ep)
        return y

    return traceable(conv_2d)  # a padded window copy is a temporary: segments.py refuses it


def _prepare_depthwise(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _Node(node, constants)

    def depthwise_conv_2d(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, bias: Array | None = None, *,
        strides: list[int] | None = None, dilations: list[int] | None = None,
        padding: str = "VALID", activation: str = "NONE",
    ) -> Array:  # fmt: skip
        if x.ndim != 4 or w.ndim != 4 or w.shape[0] != 1 or x.shape[3] == 0 or \
                w.shape[3] % x.shape[3] or w.dtype not in _8BIT:  # fmt: skip
            raise RuntimeDecline(f"x {list(x.shape)}, w {w.dtype}{list(w.shape)}")
        _, kh, kw, cm = w.shape
        if kh * kw > _DW_MAX_TAPS:
            raise RuntimeDecline(f"a {kh}x{kw} depthwise window (at most {_DW_MAX_TAPS} taps)")
        sh, sw, dh, dw, oh, top, ow, left = prep.geometry(x, kh, kw, strides, dilations, padding)
        zx = prep.x_zero_point(x, x_zero_point)
        ep = prep.epilogue(lambda: _epilogue(
            x, x_scale, w_scale, y_scale, y_zero_point, bias, cm, x.dtype != np.uint8, activation,
            False))  # fmt: skip

        def taps() -> Array:
            zw = _zero_point(w_zero_point, w.dtype, "w_zero_point")
            return np.ascontiguousarray((w.astype(np.int32) - zw).reshape(-1), np.int16)

        wt = prep.weights(taps)
        y = output_array((x.shape[0], oh, ow, cm), x.dtype)
        if y.size:
            t = threads()
            work = scratch(t * cm).view(np.int32)
            ext().qdepthwise_nhwc(as_bytes(x), qtype(x, "input"), wt, kh, kw, sh, sw, dh, dw, top,
                                  left, zx, ep, y, work, t)  # fmt: skip
        return y

    return traceable(depthwise_conv_2d)


def _prepare_fully_connected(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _Node(node, constants)

    def fully_connected(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, bias: Array | None = None, *,
        activation: str = "NONE",
    ) -> Array:  # fmt: skip
        if w.ndim != 2 or w.shape[1] == 0 or x.size % w.shape[1] or w.dtype not in _8BIT:
            raise RuntimeDecline(f"x {list(x.shape)}, w {w.dtype}{list(w.shape)}")
        n, k = w.shape
        zx = prep.x_zero_point(x, x_zero_point)
        ep = prep.epilogue(lambda: _epilogue(
            x, x_scale, w_scale, y_scale, y_zero_point, bias, n, np.size(w_scale) > 1,
            activation, False))  # fmt: skip
        bp = prep.weights(lambda: _pack_b(w, w, w_zero_point))
        y = output_array((x.size // k, n), x.dtype)
        if y.size:
            _gemm(as_bytes(x).reshape(-1, k), x, zx, bp, y, ep)
        return y

    return traceable(fully_connected)


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class TFLiteKernels(KernelBackend):
    """The 8-bit tflite::* kernels (mixed into CythonBackend)."""

    @kernel(tfl_conv_2d_1, dtypes=set(EIGHT_BIT), supports=_refusal, prepare=_prepare_conv)
    def tfl_conv_2d(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, bias: Array | None = None, *,
        strides: list[int] | None = None, dilations: list[int] | None = None,
        padding: str = "VALID", activation: str = "NONE",
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(tfl_depthwise_conv_2d_1, dtypes=set(EIGHT_BIT), supports=_refusal,
            prepare=_prepare_depthwise)  # fmt: skip
    def tfl_depthwise_conv_2d(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, bias: Array | None = None, *,
        strides: list[int] | None = None, dilations: list[int] | None = None,
        padding: str = "VALID", activation: str = "NONE",
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(tfl_fully_connected_1, dtypes=set(EIGHT_BIT), supports=_refusal,
            prepare=_prepare_fully_connected)  # fmt: skip
    def tfl_fully_connected(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, bias: Array | None = None, *,
        activation: str = "NONE",
    ) -> Array:  # fmt: skip
        return _unprepared()
