"""Conv and gossamer::FusedConv (2-D, float32): depthwise direct, everything else as packed GEMM.

Weights are packed once at prepare time (per group: W_g as the GEMM's left operand, M x C*kh*kw);
per call the input is written straight into packed-B panels (im2col without an im2col matrix; a
1x1/stride-1/no-pad conv packs the input plane as is). Bias and Relu/Clip run in the epilogue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, kernel
from ..refimpl.ir import Node, Value
from ..refimpl.ops._cv_geometry import window
from ..refimpl.ops.op_conv import conv_1
from ..refimpl.ops.op_fused_conv import fused_conv_1
from ._common import (
    F32,
    all_float32,
    epilogue_bounds,
    fused_activation_refusal,
    known_shape,
    scratch,
    threads,
)
from ._native import ext

Array = np.ndarray


def _conv_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs[:3])
    if bad:
        return bad
    x, w = known_shape(inputs[0]), known_shape(inputs[1])
    if x is None or w is None:
        return "input or weight shape unknown before running"
    if len(x) != 4 or len(w) != 4:
        return f"{len(x) - 2}-D convolution (2-D only)"
    if node.op_type == "FusedConv":
        return fused_activation_refusal(node)
    return None


class _Conv:
    """One Conv node, prepared: packed weights per group and the epilogue."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        a = node.attrs
        self.geometry = {
            k: a.get(k) for k in ("auto_pad", "dilations", "kernel_shape", "pads", "strides")
        }
        self.geometry["auto_pad"] = self.geometry["auto_pad"] or "NOTSET"
        self.group = int(a.get("group", 1))
        self.bounds = epilogue_bounds(str(a.get("activation", "")), a.get("activation_params"))
        w = constants.get(1)
        self.packed = self._pack(w) if w is not None else None
        b = constants.get(2)
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)

    def _pack(self, w: Array) -> list[Array] | Array:
        m, cg, kh, kw = w.shape
        if self._depthwise(w.shape):
            return np.ascontiguousarray(w, F32).reshape(-1)
        mg = m // self.group
        packs = []
        for g in range(self.group):
            wg = np.asarray(w[g * mg : (g + 1) * mg], F32).reshape(mg, cg * kh * kw)
            out = np.empty(ext().packed_a_size(mg, cg * kh * kw), F32)
            ext().pack_a(wg, out, threads())
            packs.append(out)
        return packs

    def _depthwise(self, w_shape: tuple[int, ...]) -> bool:
        return self.group > 1 and w_shape[1] == 1 and w_shape[0] == self.group

    def __call__(self, x: Array, w: Array, b: Array | None) -> Array:
        from ..refimpl.ops._cv_im2col import check_groups

        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        check_groups(c, w.shape, self.group)  # the reference's error for mismatched channels
        win = window(x.shape[2:], self.geometry["kernel_shape"] or w.shape[2:],
                     strides=self.geometry["strides"], dilations=self.geometry["dilations"],
                     pads=self.geometry["pads"], auto_pad=self.geometry["auto_pad"])  # fmt: skip
        (sh, sw), (dh, dw), (ph, pw), (oh, ow) = win.strides, win.dilations, win.pads_begin, win.out
        packed = self.packed if self.packed is not None else self._pack(w)
        bias = self.bias if self.bias is not None or b is None else np.ascontiguousarray(b, F32)
        x = np.ascontiguousarray(x, F32)
        y = np.empty((n, m, oh, ow), F32)
        t = threads()
        if y.size == 0:
            return y
        if self._depthwise(w.shape):
            ext().depthwise(x, packed, kh, kw, sh, sw, dh, dw, ph, pw, bias, *self.bounds, y, t)
            return y
        mg, k, hw = m // self.group, cg * kh * kw, oh * ow
        plain = (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0) and (oh, ow) == (h, wd)
        bp = scratch(ext().packed_b_size(k, hw))
        for i in range(n):
            for g in range(self.group):
                xg = x[i, g * cg : (g + 1) * cg]
                if plain:
                    ext().pack_b(xg.reshape(cg, h * wd), bp, t)
                else:
                    ext().pack_b_conv(xg, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bp, t)
                yg = y[i, g * mg : (g + 1) * mg].reshape(mg, hw)
                bg = None if bias is None else bias[g * mg : (g + 1) * mg]
                ext().gemm(mg, hw, k, packed[g], bp, yg, bg, None, *self.bounds, t)
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

    return conv


def _prepare_fused_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prepared = _Conv(node, constants)

    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w, b)

    return fused_conv


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class ConvKernels(KernelBackend):
    """The convolution kernels (mixed into CythonBackend)."""

    @kernel(conv_1, dtypes={"float32"}, supports=_conv_refusal, prepare=_prepare_conv)
    def conv(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_conv_1, dtypes={"float32"}, supports=_conv_refusal, prepare=_prepare_fused_conv)
    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
