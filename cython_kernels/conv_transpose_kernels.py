"""ConvTranspose (1-D and 2-D, float32) as packed GEMM + col2im.

W_g^T (Cout/g*kh*kw x Cin/g) is packed once per group at prepare; per image and group one GEMM
cols = W_g^T @ x_g (Cin/g = 1: an outer product), then src/upsample.c's col2im adds the taps into
the output (parallel over output channels) with the bias.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.errors import OpArgumentError
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import conv_transpose_geometry
from ..refimpl.ops.op_conv_transpose import conv_transpose_1
from ._common import F32, INF, all_float32, conv_rank_refusal, scratch, threads
from ._native import ext

Array = np.ndarray


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


# ---- ConvTranspose ------------------------------------------------------------------------------


def _convt_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    return all_float32(inputs[:3]) or conv_rank_refusal(inputs, "ConvTranspose")


def _convt_geometry(x_shape: tuple[int, ...], w_shape: tuple[int, ...], a: dict[str, Any]):  # type: ignore[no-untyped-def]
    """(strides, dilations, pads_begin, out) exactly as conv_transpose_1 derives them."""
    return conv_transpose_geometry(
        x_shape[2:], tuple(w_shape[2:]), a.get("auto_pad"), a.get("dilations"),
        a.get("output_padding"), a.get("output_shape"), a.get("pads"), a.get("strides"),
    )  # fmt: skip


class _ConvTranspose:
    """One ConvTranspose node, prepared: W_g^T packed per group (or kept for the outer product)."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        self.attrs = dict(node.attrs)
        self.group = int(self.attrs.get("group", 1))
        w = constants.get(1)
        self.w_shape = None if w is None else tuple(w.shape)
        self.packed = None if w is None else self._pack(np.asarray(w, F32))
        b = constants.get(2)
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)
        self.geometry: dict[tuple, Any] = {}

    def _pack(self, w: Array) -> list[Array] | Array:
        """Per group W_g^T packed as the GEMM's left operand; Cin/g = 1: W as (g, Cout/g*k, 1)."""
        c, mg = w.shape[:2]
        cg, taps = c // max(self.group, 1), math.prod(w.shape[2:])
        w = np.ascontiguousarray(w, F32)
        if cg == 1:
            return w.reshape(c, mg * taps, 1)
        packs = []
        for g in range(self.group):
            wt = w[g * cg : (g + 1) * cg].reshape(cg, mg * taps).T
            out = np.empty(ext().packed_a_size(mg * taps, cg), F32)
            ext().pack_a(wt, out, threads())
            packs.append(out)
        return packs

    def _plan(self, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple:
        key = (x_shape, w_shape)
        plan = self.geometry.get(key)
        if plan is None:
            c, g = x_shape[1], self.group
            if g < 1 or c != w_shape[0] or c % g:
                raise RuntimeDecline(f"x has {c} channels, W {list(w_shape)} (group {g})")
            try:
                plan = _convt_geometry(x_shape, w_shape, self.attrs)
            except OpArgumentError as err:
                raise RuntimeDecline(str(err)) from err
            if any(o < 0 for o in plan[3]):
                raise RuntimeDecline(f"negative output size {plan[3]}")
            if len(self.geometry) < 64:
                self.geometry[key] = plan
        return plan

    def __call__(self, x: Array, w: Array, b: Array | None) -> Array:
        if x.ndim != w.ndim or x.ndim not in (3, 4):
            raise RuntimeDecline(f"rank {x.ndim} input with rank {w.ndim} weights")
        strides, dils, begin, out = self._plan(tuple(x.shape), tuple(w.shape))
        if x.ndim == 3:  # 1-D as 2-D with H = 1
            x4, w4 = x[:, :, None, :], w[:, :, None, :]
            strides, dils, begin, out = (1, *strides), (1, *dils), (0, *begin), [1, *out]
        else:
            x4, w4 = x, w
        y = self.run(x4, w4, b, strides, dils, begin, out)
        return y.reshape(y.shape[0], y.shape[1], *y.shape[3:]) if x.ndim == 3 else y

    def run(self, x: Array, w: Array, b: Array | None, strides, dils, begin, out) -> Array:  # type: ignore[no-untyped-def]
        n, c, h, wd = x.shape
        _, mg, kh, kw = w.shape
        g, t = self.group, threads()
        cg, m, taps, hw = c // g, g * mg, kh * kw, h * wd
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = strides, dils, begin, out
        y = output_array((n, m, oh, ow), F32)
        if y.size == 0:
            return y
        if hw == 0 or c == 0:
            y[...] = 0 if b is None else np.asarray(b, F32).reshape(1, -1, 1, 1)
            return y
        const_w = self.packed is not None and tuple(w.shape) == self.w_shape
        packed = self.packed if const_w else self._pack(np.asarray(w, F32))
        bias = self.bias if self.bias is not None or b is None else np.ascontiguousarray(b, F32)
        x = np.ascontiguousarray(x, F32)
        n_cols, n_work = m * taps * hw, ext().col2im_work(sh, sw, oh, ow, t)
        n_bp = 0 if cg == 1 else ext().packed_b_size(cg, hw)
        buf = scratch(n_cols + n_work + n_bp)
        cols, work, bp = buf[:n_cols], buf[n_cols : n_cols + n_work], buf[n_cols + n_work :]
        rows = mg * taps
        for i in range(n):
            if cg == 1:  # K = 1: the product is an outer product (exact, like the reference's)
                np.multiply(packed, x[i].reshape(g, 1, hw), out=cols.reshape(g, rows, hw))
            else:
                for j in range(g):
                    ext().pack_b(x[i, j * cg : (j + 1) * cg].reshape(cg, hw), bp, t)
                    yg = cols[j * rows * hw : (j + 1) * rows * hw].reshape(rows, hw)
                    ext().gemm(rows, hw, cg, packed[j], bp, yg, None, None, -INF, INF, False, t)
            ext().col2im(cols, m, h, wd, kh, kw, sh, sw, dh, dw, ph, pw, bias, y[i],
                         work if n_work else None, t)  # fmt: skip
        return y


def _prepare_conv_transpose(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prepared = _ConvTranspose(node, constants)

    def conv_transpose(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, output_padding: list[int] | None = None,
        output_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b)

    return conv_transpose


# ---- Resize / Upsample --------------------------------------------------------------------------


class ConvTransposeKernels(KernelBackend):
    """The ConvTranspose kernel (mixed into CythonBackend)."""

    @kernel(conv_transpose_1, dtypes={"float32"}, supports=_convt_refusal,
            prepare=_prepare_conv_transpose)  # fmt: skip
    def conv_transpose(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, output_padding: list[int] | None = None,
        output_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
