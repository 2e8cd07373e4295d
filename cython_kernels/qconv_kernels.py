"""QLinearConv and ConvInteger (1-D and 2-D, u8/s8 activations and weights) on the exact int8
kernels: depthwise direct (src/qconv.h); 3x3 stride-1 single-group convolutions with constant
weights by integer Winograd F(2x2, 3x3) where it is provably exact (src/qconv_winograd.h);
everything else im2col into the int8 GEMM (src/qgemm.h).

Weights minus their zero points (per tensor or per output channel) are packed once when constant
(per group, as the GEMM's left operand; int16 taps for depthwise); the requantising epilogue
(multiplier float32(x_scale) * float32(w_scale[c]) / float32(y_scale), int32 bias, output zero
point, saturation) is built once when its inputs are constants. Padding is the input zero point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import check_groups, window
from ..refimpl.ops.op_conv_integer import conv_integer_10
from ..refimpl.ops.op_qlinear_conv import qlinear_conv_10
from ._common import conv_rank_refusal, scratch, threads, window_refusal
from ._native import ext
from ._qcommon import (
    EIGHT_BIT,
    F32,
    Q_I32,
    as_bytes,
    epilogue,
    output_type,
    qtype,
    scalar,
    scalar_zero_point,
    zero_points,
)  # fmt: skip
from .conv_kernels import _as_2d
from .prepacked import digest, packed_form
from .segments import traceable

Array = np.ndarray
_DW_MAX_TAPS = 258  # src/qconv.h GK_QDW_MAX_TAPS: larger depthwise windows run as grouped GEMMs
# Winograd F(2x2, 3x3) (src/qconv_winograd.h): G' = 2G keeps the weight transform in integers
_G2 = np.array([[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]], np.int64)
_WINO_MIN_CHANNELS = 8  # below this (in or out), im2col's one GEMM beats 16 small ones
# 8-bit GEMM cores (src/qgemm.h gk_q8_core) on which a 3x3 conv runs im2col + the byte GEMM
# rather than the int16 Winograd (measured: benchmarks/int8_layers.py)
_Q8_OVER_WINOGRAD = {1, 2}


# the 8-bit im2col packer and GEMM as one call (ext.q8_conv_gemm: one pool call where the split
# allows) or as two (read when a session records or runs the node; benchmarks A/B it)
FUSE_PACK_GEMM = True


def q8_core() -> int:
    """The 8-bit GEMM's core now (0: none worth using, i.e. the int16-pair GEMM runs)."""
    return int(ext().q8_core())


def _stored_zp(z: Array, code: int, to: int) -> Array:
    """Zero points in the 8-bit GEMM's stored domain (the top bit flipped: +-128)."""
    shift = 0 if code == to else (128 if code == 1 else -128)
    return np.ascontiguousarray(z.astype(np.int32) + shift, np.int32)


def _packed_a16(a: Array, qmr: int) -> Array:
    """An M x K int16-range matrix in the int8 GEMM's packed-A layout (src/qgemm.h)."""
    m, k = a.shape
    k2, panels = max((k + 1) // 2, 1), -(-m // qmr)
    full = np.zeros((panels * qmr, 2 * k2), np.int16)
    full[:m, :k] = a
    return np.ascontiguousarray(full.reshape(panels, qmr, k2, 2).transpose(0, 2, 1, 3)).reshape(-1)


def winograd_weights(w: Array, zw: Array) -> Array | None:
    """The 16 packed matrices U'[q] = (G' (w - zw) G'^T)[q // 4, q % 4] (M x C each) of 3x3
    weights, or None where the Winograd conv would not be exact: its int32 result is exact only
    while every |sum| < 2^29, i.e. 255 * sum |w - zw| < 2^29 for every output channel."""
    g = w.astype(np.int64) - zw.astype(np.int64).reshape(-1, 1, 1, 1)
    if 255 * int(np.abs(g).sum(axis=(1, 2, 3)).max(initial=0)) >= 1 << 29:
        return None
    u = np.einsum("ik,mckl,jl->ijmc", _G2, g, _G2)  # |u| <= 9 * 255: int16
    qmr = ext().QMR
    return np.concatenate([_packed_a16(u[q // 4, q % 4], qmr) for q in range(16)])


def _refusal(x_index: int, w_index: int) -> Callable[[Node, list[Value | None]], str | None]:
    def refuses(node: Node, inputs: list[Value | None]) -> str | None:
        w = inputs[w_index] if len(inputs) > w_index else None
        if w is not None and w.dtype not in EIGHT_BIT:
            return f"weights are {w.dtype} (uint8/int8 only)"
        return conv_rank_refusal([inputs[x_index], w], "convolution")

    return refuses


class _QConv:
    """One QLinearConv / ConvInteger node, prepared: packed weights and epilogue when constant."""

    def __init__(self, node: Node, constants: dict[int, Array], w_index: int) -> None:
        a = node.attrs
        geometry = {
            k: a.get(k) for k in ("auto_pad", "dilations", "kernel_shape", "pads", "strides")
        }
        geometry["auto_pad"] = geometry["auto_pad"] or "NOTSET"
        self.geometry, self.geometry_1d = geometry, _as_2d(geometry)
        self.group = int(a.get("group", 1))
        self.constants = constants
        self.inputs = list(node.inputs)
        self.w_index = w_index
        self.packed: tuple[Any, ...] | None = None  # (packed weights, depthwise) when constant
        self.ep: object | None = None  # the epilogue when every input it reads is constant
        self.windows: dict[tuple, Any] = {}
        self.wino: Array | None | bool = False  # packed Winograd weights; False: not computed
        self.q8: dict[int, tuple[list[Array], list[Array], list[Array], int]] = {}
        self.q8_zx: dict[int, Array] = {}  # the input zero point as the GEMM's zb, per value

    def q8_weights(self, w: Array, w_zp: Array | None, xt: int) -> Any:
        """Constant weights packed for the 8-bit GEMM against activations of type xt (stored
        as the other type): per group (packs, stored zero points, row sums, stored type)."""
        made = self.q8.get(xt)
        if made is None:
            m, cg, kh, kw = w.shape
            wt, zw = qtype(w, "weights"), zero_points(w_zp, m, "w_zero_point", w)
            mg, k, t, to = m // self.group, cg * kh * kw, threads(), 1 - xt
            size = ext().q8_packed_size(mg, k)
            per = size + 4 * mg  # a group's packed bytes, then its mg row sums (int32)

            def pack() -> Array:
                out = np.empty(self.group * per, np.uint8)
                for g in range(self.group):
                    wg = as_bytes(w[g * mg : (g + 1) * mg]).reshape(mg, k)
                    part = out[g * per : (g + 1) * per]
                    ext().q8_pack_a(wg, wt, to, part[size:].view(np.int32), part, t)
                return out

            params = {"m": m, "k": k, "group": self.group, "type": w.dtype.name, "to": to}
            whole = packed_form(self.constants.get(self.w_index), "qconv.q8_pack_a", params,
                                (self.group * per,), pack, np.uint8)  # fmt: skip
            packs = [whole[g * per : g * per + size] for g in range(self.group)]
            sums = [whole[g * per + size : (g + 1) * per].view(np.int32) for g in range(self.group)]
            zs = [_stored_zp(zw if zw.size == 1 else zw[g * mg : (g + 1) * mg], wt, to)
                  for g in range(self.group)]  # fmt: skip
            made = (packs, zs, sums, to)
            self.q8[xt] = made
        return made

    def _pack(self, w: Array, w_zp: Array | None) -> tuple[Any, bool]:
        m, cg, kh, kw = w.shape
        wt, zw = qtype(w, "weights"), zero_points(w_zp, m, "w_zero_point", w)
        if self.group > 1 and cg == 1 and m == self.group and kh * kw <= _DW_MAX_TAPS:
            taps = w.reshape(m, kh * kw).astype(np.int32) - zw.reshape(-1, 1)
            return np.ascontiguousarray(taps, np.int16).reshape(-1), True
        mg, t = m // self.group, threads()
        packs = []
        for g in range(self.group):
            wg = as_bytes(w[g * mg : (g + 1) * mg]).reshape(mg, cg * kh * kw)
            zg = zw if zw.size == 1 else zw[g * mg : (g + 1) * mg]
            out = np.empty(ext().qpacked_a_size(mg, cg * kh * kw), np.int16)
            ext().qpack_a(wg, wt, np.ascontiguousarray(zg), out, t)
            packs.append(out)
        return packs, False

    def fixed(self, *indices: int) -> bool:
        """Whether these inputs are constants or absent (the same in every call)."""
        return all(
            i in self.constants or i >= len(self.inputs) or not self.inputs[i] for i in indices
        )

    def weights(self, w: Array, w_zp: Array | None) -> tuple[Any, bool]:
        if not self.fixed(self.w_index, self.w_index + 2):
            return self._pack(w, w_zp)
        if self.packed is None:
            self.packed = self._pack_constant(w, w_zp)
        return self.packed

    def _pack_constant(self, w: Array, w_zp: Array | None) -> tuple[Any, bool]:
        """_pack of the constant weights; the grouped GEMM's packs may come from the file."""
        m, cg, kh, kw = w.shape
        if self.group > 1 and cg == 1 and m == self.group and kh * kw <= _DW_MAX_TAPS:
            return self._pack(w, w_zp)  # depthwise taps: a subtraction, nothing worth storing
        mg, k = m // self.group, cg * kh * kw
        size = ext().qpacked_a_size(mg, k)

        def pack() -> Array:
            packs = self._pack(w, w_zp)[0]
            return packs[0] if len(packs) == 1 else np.concatenate(packs)

        params = {"m": m, "k": k, "group": self.group, "type": w.dtype.name, "zp": digest(w_zp)}
        whole = packed_form(self.constants[self.w_index], "qconv.pack_a", params,
                            (self.group * size,), pack, np.int16)  # fmt: skip
        return [whole[g * size : (g + 1) * size] for g in range(self.group)], False

    def winograd(self, w: Array, w_zp: Array | None) -> Array | None:
        """The packed Winograd weights of constant 3x3 single-group weights (once), else None."""
        if self.wino is False:
            m, cg, kh, kw = w.shape
            fit = (kh, kw) == (3, 3) and self.group == 1 and min(m, cg) >= _WINO_MIN_CHANNELS
            const = self.fixed(self.w_index, self.w_index + 2)
            zw = zero_points(w_zp, m, "w_zero_point", w) if fit and const else None
            self.wino = winograd_weights(w, zw) if zw is not None else None
        return self.wino  # type: ignore[return-value]

    def window(self, x: Array, w: Array, geometry: dict[str, Any]) -> Any:
        key = (x.shape, w.shape, id(geometry))
        win = self.windows.get(key)
        if win is None:
            check_groups(x.shape[1], w.shape, self.group)
            g = geometry
            kernel_shape = g["kernel_shape"] or w.shape[2:]
            win = window(
                x.shape[2:], kernel_shape, strides=g["strides"], dilations=g["dilations"],
                pads=g["pads"], auto_pad=g["auto_pad"],
            )  # fmt: skip
            refusal = window_refusal(x.shape[2:], win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(self.windows) < 64:
                self.windows[key] = win
        return win

    def run(self, x: Array, x_zp: Array | None, w: Array, w_zp: Array | None, ep: Any,
            dtype: np.dtype) -> Array:  # fmt: skip
        if x.ndim != w.ndim or x.ndim not in (3, 4):
            raise RuntimeDecline(f"a {x.ndim}-D input with {w.ndim}-D weights")
        if x.ndim == 3:
            y = self._run2d(x[:, :, None, :], x_zp, w[:, :, None, :], w_zp, ep, dtype, True)
            return y.reshape(y.shape[0], y.shape[1], y.shape[3])
        return self._run2d(x, x_zp, w, w_zp, ep, dtype, False)

    def _run2d(self, x: Array, x_zp: Array | None, w: Array, w_zp: Array | None, ep: Any,
               dtype: np.dtype, one_d: bool) -> Array:  # fmt: skip
        win = self.window(x, w, self.geometry_1d if one_d else self.geometry)
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        xt, zx = qtype(x, "input"), scalar_zero_point(x_zp, "x_zero_point", x)
        y = output_array((n, m, oh, ow), dtype)
        if y.size == 0:
            return y
        xb, t = as_bytes(x), threads()
        depthwise = self.group > 1 and cg == 1 and m == self.group and kh * kw <= _DW_MAX_TAPS
        core = q8_core()
        q8 = (core > 0 and not depthwise and self.fixed(self.w_index, self.w_index + 2)
              and (0 <= zx <= 255 if xt == 0 else -128 <= zx <= 127))  # fmt: skip
        stride1 = (sh, sw, dh, dw) == (1, 1, 1, 1)
        if q8 and core not in _Q8_OVER_WINOGRAD and stride1 and self.winograd(w, w_zp) is not None:
            q8 = False
        if q8:  # the int16 forms are not packed at all
            return self._run_q8(xb, xt, zx, w, w_zp, win, ep, y)
        packed, depthwise = self.weights(w, w_zp)
        if depthwise:
            work = scratch(ext().qdepthwise_work(h, wd, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, t))
            ext().qdepthwise(xb, xt, packed, kh, kw, sh, sw, dh, dw, ph, pw, zx, ep, y,
                             work.view(np.int32), t)  # fmt: skip
            return y
        up = self.winograd(w, w_zp) if stride1 else None
        if up is not None:
            nb, nw = ext().qwino_sizes(m, c, oh, ow, t)
            buf = scratch((nb + 1) // 2 + nw)
            bp, work = buf[: (nb + 1) // 2].view(np.int16), buf[(nb + 1) // 2 :].view(np.int32)
            for i in range(n):
                ext().qconv_winograd(xb[i], xt, ph, pw, zx, up, m, ep, y[i], bp, work, t)
            return y
        mg, k, hw = m // self.group, cg * kh * kw, oh * ow
        bp = scratch((ext().qpacked_b_size(k, hw) + 1) // 2).view(np.int16)
        for i in range(n):
            for g in range(self.group):
                ext().qpack_b_conv(xb[i, g * cg : (g + 1) * cg], xt, kh, kw, sh, sw, dh, dw,
                                   ph, pw, oh, ow, zx, bp, t)  # fmt: skip
                yg = y[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                ext().qgemm(mg, hw, k, packed[g], bp, yg, ep, g * mg, 0, t)
        return y

    def _run_q8(self, xb: Array, xt: int, zx: int, w: Array, w_zp: Array | None, win: Any,
                ep: Any, y: Array) -> Array:  # fmt: skip
        """im2col of each image and group into the 8-bit GEMM's right operand (bytes, the
        activations' own type: no flip at run time), times the constant weights packed once."""
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        n, m, cg, kh, kw = xb.shape[0], w.shape[0], w.shape[1], w.shape[2], w.shape[3]
        packs, zs, sums, to = self.q8_weights(w, w_zp, xt)
        mg, k, hw, t = m // self.group, cg * kh * kw, oh * ow, threads()
        need_sb = any(bool(z.any()) for z in zs)
        nbytes = -(-ext().q8_packed_size(hw, k) // 4)
        buf = scratch(nbytes + (hw if need_sb else 0))
        bp = buf[:nbytes].view(np.uint8)
        sb = buf[nbytes:].view(np.int32) if need_sb else None
        zb = self.q8_zx.get(zx)
        if zb is None:  # kept: a segment replays its address (segments.py)
            zb = self.q8_zx.setdefault(zx, np.full(1, zx, np.int32))
        for i in range(n):
            for g in range(self.group):
                yg = y[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                if not FUSE_PACK_GEMM:
                    ext().q8_pack_b_conv(xb[i, g * cg : (g + 1) * cg], xt, kh, kw, sh, sw, dh,
                                         dw, ph, pw, oh, ow, zx, xt, sb, bp, t)  # fmt: skip
                    ext().q8_gemm(mg, hw, k, packs[g], to, bp, xt, yg, ep, zs[g], zb, sums[g],
                                  sb, g * mg, 0, t)  # fmt: skip
                    continue
                # the packer and the GEMM in one pool call where the split allows
                ext().q8_conv_gemm(xb[i, g * cg : (g + 1) * cg], xt, kh, kw, sh, sw, dh, dw,
                                   ph, pw, oh, ow, zx, sb, bp, mg, packs[g], to, yg, ep, zs[g],
                                   zb, sums[g], g * mg, t)  # fmt: skip
        return y


def _qlinear_epilogue(
    prep: _QConv, x_scale: Array, w_scale: Array, y_scale: Array, y_zp: Array | None,
    b: Array | None, m: int, x_dtype: np.dtype,
) -> tuple[Any, np.dtype]:  # fmt: skip
    """The QLinearConv epilogue and output dtype (built once when its inputs are constants)."""
    const = prep.fixed(1, 4, 6, 7, 8)
    if const and prep.ep is not None:
        return prep.ep
    dtype, out_type, zp = output_type(y_zp, x_dtype)
    if w_scale.size not in (1, m):
        raise RuntimeDecline(f"w_scale has {w_scale.size} values (1 or {m})")
    # the reference's expression, in float32, in its order
    mult = scalar(x_scale, "x_scale").astype(F32) * w_scale.reshape(-1).astype(F32)
    mult = mult / scalar(y_scale, "y_scale").astype(F32)
    bias = None
    if b is not None:
        if b.dtype != np.int32 or b.size not in (1, m):
            raise RuntimeDecline(f"bias {b.dtype}[{b.size}] (int32, 1 or {m} values)")
        bias = b.reshape(-1, 1)
    made = (epilogue(out_type, mult.reshape(-1, 1), zp, bias, rows=m), dtype)
    if const:
        prep.ep = made
    return made


def _prepare_qlinear_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _QConv(node, constants, 3)

    def qlinear_conv(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, b: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        ep, dtype = _qlinear_epilogue(prep, x_scale, w_scale, y_scale, y_zero_point, b,
                                      w.shape[0], x.dtype)  # fmt: skip
        return prep.run(x, x_zero_point, w, w_zero_point, ep, dtype)

    return traceable(qlinear_conv)  # weights packed per call are temporaries: segments refuse them


def _prepare_conv_integer(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _QConv(node, constants, 1)
    ep = epilogue(Q_I32, None, 0.0)

    def conv_integer(
        x: Array, w: Array, x_zero_point: Array | None = None,
        w_zero_point: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return prep.run(x, x_zero_point, w, w_zero_point, ep, np.dtype(np.int32))

    return traceable(conv_integer)


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class QConvKernels(KernelBackend):
    """The int8 convolution kernels (mixed into CythonBackend)."""

    @kernel(qlinear_conv_10, dtypes=set(EIGHT_BIT), supports=_refusal(0, 3),
            prepare=_prepare_qlinear_conv)  # fmt: skip
    def qlinear_conv(
        x: Array, x_scale: Array, x_zero_point: Array, w: Array, w_scale: Array,
        w_zero_point: Array, y_scale: Array, y_zero_point: Array, b: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(conv_integer_10, dtypes=set(EIGHT_BIT), supports=_refusal(0, 1),
            prepare=_prepare_conv_integer)  # fmt: skip
    def conv_integer(
        x: Array, w: Array, x_zero_point: Array | None = None,
        w_zero_point: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
