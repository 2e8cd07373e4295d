"""Conv, FusedConv, MatMul, FusedMatMul, Gemm and FusedGemm (float32 in and out) in bfloat16 with
float32 accumulation: the kernels of the `cython-bf16` backend (precision="bf16").

Each product runs on the BF16 GEMM (src/bf16.h): the weights rounded to bfloat16 and packed once
(at prepare time when they are constants, else per call), the activations rounded as they are
packed (a conv's through the float32 im2col panels, src/conv.h), float32 accumulators, and the
float32 GEMM's own epilogue (biases, residual, clip, activation: gemm_kernels.make_epilogue).
What it computes is conformance/bf16_reference.py's bf16_matmul plus that epilogue. Depthwise
convs have no inner product to pair and are declined (the float32 kernels run them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import check_groups, window
from ..refimpl.ops.op_conv import conv_1
from ..refimpl.ops.op_fused_conv import fused_conv_1
from ..refimpl.ops.op_fused_gemm import fused_gemm_1
from ..refimpl.ops.op_fused_mat_mul import fused_mat_mul_1
from ..refimpl.ops.op_gemm import gemm_7, gemm_11
from ..refimpl.ops.op_mat_mul import mat_mul_1
from ._common import (
    F32,
    all_float32,
    conv_activation_refusal,
    conv_rank_refusal,
    epilogue_bounds,
    known_shape,
    post_activation,
    scratch,
    static_shape,
    threads,
    window_refusal,
)
from ._native import ext
from .bf16_mode import select_bf16_impl
from .gemm_kernels import fused_activation, make_epilogue, node_activation_refusal

Array = np.ndarray
FLOAT32 = {"float32"}
U32 = np.uint32


def pack_b(b: Array) -> Array:
    """B (K x N, any strides) as bf16 pairs in 16-column panels."""
    k, n = b.shape
    out = np.empty(ext().bf16_packed_b_size(k, n), U32)
    if k and n:
        ext().bf16_pack_b(np.asarray(b, F32), out, threads())
    return out


def pack_a(a: Array) -> Array:
    """A (M x K, any strides) as bf16 pairs in 12-row panels."""
    m, k = a.shape
    out = np.empty(ext().bf16_packed_a_size(m, k), U32)
    if m and k:
        ext().bf16_pack_a(np.asarray(a, F32), out, threads())
    return out


# ---- Conv / FusedConv ----------------------------------------------------------------------------


def _conv_refusal(node: Node, inputs: list[Value | None]) -> str | None:
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
    return None


def _as_2d(geometry: dict[str, Any]) -> dict[str, Any]:
    """1-D geometry (kernel/stride/dilation [k], pads [b, e]) as 2-D with H = 1."""
    out = dict(geometry)
    for key in ("kernel_shape", "strides", "dilations"):
        if geometry.get(key) is not None and len(geometry[key]) == 1:
            out[key] = [1, *geometry[key]]
    if geometry.get("pads") is not None and len(geometry["pads"]) == 2:
        out["pads"] = [0, geometry["pads"][0], 0, geometry["pads"][1]]
    return out


class _Bf16Conv:
    """One Conv node: its weights as bf16 panels per group (packed once if constant)."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        a = node.attrs
        self.geometry = {
            k: a.get(k) for k in ("auto_pad", "dilations", "kernel_shape", "pads", "strides")
        }
        self.geometry["auto_pad"] = self.geometry["auto_pad"] or "NOTSET"
        self.geometry_1d = _as_2d(self.geometry)
        self.group = int(a.get("group", 1))
        activation, params = str(a.get("activation", "")), a.get("activation_params")
        self.post = post_activation(activation, params)
        self.bounds = epilogue_bounds(activation, params) if self.post is None else (0.0, 0.0, 0)
        w = constants.get(1)
        self.w_shape = None if w is None else _as_4d(w).shape
        self.packed = None if w is None else self._pack(_as_4d(w))
        b = constants.get(2)
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)

    def _pack(self, w: Array) -> list[Array]:
        m, cg, kh, kw = w.shape
        mg = m // self.group
        k = cg * kh * kw
        return [pack_a(w[g * mg : (g + 1) * mg].reshape(mg, k)) for g in range(self.group)]

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
        bp = np.empty(ext().bf16_packed_b_size(k, hw), U32)
        for i in range(n):
            for g in range(self.group):
                xg = x[i, g * cg : (g + 1) * cg]
                if plain:
                    ext().bf16_pack_b(xg.reshape(cg, h * wd), bp, t)
                else:  # the float32 im2col panels, then rounded to bf16 pairs
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


def _prepare_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
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


def _prepare_fused_conv(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
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


# ---- MatMul / FusedMatMul ------------------------------------------------------------------------


def _batch_refusal(a: tuple, b: tuple) -> str | None:
    """Batch dims must be equal, or one side batch-free (no other broadcasting)."""
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        return "batch dims do not broadcast"
    for side in (a[:-2], b[:-2]):
        if tuple(side) != tuple(batch)[len(batch) - len(side) :] or (
            int(np.prod(side)) not in (1, int(np.prod(batch)))
        ):
            return "batch broadcasting other than equal or batch-free operands"
    return None


def _matmul_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = all_float32(inputs)
    if why:
        return why
    a, b = static_shape(inputs[0]), static_shape(inputs[1])
    if a is None or b is None:
        return "operand ranks unknown before running"
    if len(a) < 2 or len(b) < 2:
        return "1-D operands not supported"
    if node.op_type == "FusedMatMul":
        why = node_activation_refusal(node)
        n = b[-1]
        bias = known_shape(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else ()
        if why is None and (bias is None or (bias and (n is None or int(np.prod(bias)) != n))):
            why = "bias other than a vector over the last axis"
        slope = known_shape(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else ()
        if why is None and (slope is None or (slope and int(np.prod(slope)) not in (1, n))):
            why = "PRelu slope other than a scalar or a last-axis vector"
        if why:
            return why
    if None in a or None in b:
        return None  # symbolic dims: each call is checked
    return _batch_refusal(a, b)  # type: ignore[arg-type]


def _prepare_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    select_bf16_impl()  # the pair step GOSSAMER_BF16 names, for this session's kernels
    activation = fused_activation(
        str(node.attrs.get("activation", "")), node.attrs.get("activation_params")
    )
    w = constants.get(1)
    packed = None
    if w is not None and int(np.prod(w.shape[:-2])) == 1:
        packed = pack_b(np.asarray(w, F32).reshape(w.shape[-2:]))

    def run(a: Array, b: Array, bias: Array | None = None, slope: Array | None = None) -> Array:
        if a.shape[-1] != b.shape[-2] or a.size == 0 or b.size == 0:
            raise RuntimeDecline(f"operands {list(a.shape)} @ {list(b.shape)} not run in bf16")
        why = _batch_refusal(a.shape, b.shape)
        if why:
            raise RuntimeDecline(why)
        k, n = b.shape[-2:]
        ep = make_epilogue(activation, bias_col=bias, slope=slope, slope_axis="col")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        m, t = a.shape[-2], threads()
        y = output_array((*batch, m, n))
        if packed is not None or int(np.prod(b.shape[:-2])) == 1:
            bp = packed if packed is not None else pack_b(b.reshape(k, n))
            ext().bf16_gemm_a(np.asarray(a, F32).reshape(-1, k), bp, n, y.reshape(-1, n), ep, t)
            return y
        a3, b3, y3 = a.reshape(-1, m, k), b.reshape(-1, k, n), y.reshape(-1, m, n)
        for i in range(y3.shape[0]):  # batched right operands: each rounded and packed per call
            ext().bf16_gemm_a(np.asarray(a3[i % a3.shape[0]], F32), pack_b(b3[i]), n, y3[i], ep, t)
        return y

    return run


def _prepare_plain_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_matmul(node, constants)

    def mat_mul(a: Array, b: Array) -> Array:
        return run(a, b)

    return mat_mul


def _prepare_fused_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_matmul(node, constants)

    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None, *,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return run(a, b, bias, slope)

    return fused_mat_mul


# ---- Gemm / FusedGemm ----------------------------------------------------------------------------


def _gemm_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = all_float32(inputs)
    if why:
        return why
    a, b = static_shape(inputs[0]), known_shape(inputs[1])
    trans_a, trans_b = node.attrs.get("transA", 0), node.attrs.get("transB", 0)
    if a is None or b is None or len(a) != 2 or len(b) != 2 or a[0 if trans_a else 1] is None:
        return "operand shapes unknown or not 2-D"
    m, n = a[1] if trans_a else a[0], b[0] if trans_b else b[1]
    c = known_shape(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else ()
    if c is None:
        return "C shape unknown before running"
    if c and node.attrs.get("beta", 1.0) != 0.0 and _bias_kind(c, m, n) is None:
        return f"C of shape {list(c)} is not a per-row or per-column bias"
    if node.op_type == "FusedGemm":
        why = node_activation_refusal(node)
        slope = known_shape(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else ()
        if why is None and (slope is None or (slope and int(np.prod(slope)) not in (1, n))):
            why = "PRelu slope other than a scalar or a per-column vector"
    return why


def _bias_kind(c: tuple, m: int | None, n: int) -> str | None:
    """How C broadcasts onto (M, N): "scalar", "col" ([N] / [1, N]), "row" ([M, 1]) or None."""
    if int(np.prod(c)) == 1:
        return "scalar"
    if c[-1] == n and int(np.prod(c)) == n:
        return "col"
    return "row" if m is not None and tuple(c) == (m, 1) else None


def _prepare_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    select_bf16_impl()
    attrs = node.attrs
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    activation = fused_activation(str(attrs.get("activation", "")), attrs.get("activation_params"))

    def weights(b: Array) -> Array:
        op_b = np.asarray(b, F32).T if trans_b else np.asarray(b, F32)
        return pack_b(op_b * F32(alpha) if alpha != 1.0 else op_b)

    packed = weights(constants[1]) if 1 in constants else None

    def run(a: Array, b: Array, c: Array | None = None, slope: Array | None = None) -> Array:
        op_a = a.T if trans_a else a
        m, n = op_a.shape[0], (b.shape[0] if trans_b else b.shape[1])
        bias_row = bias_col = None
        if c is not None and beta != 0.0:
            cb = np.asarray(c, F32) * F32(beta) if beta != 1.0 else np.asarray(c, F32)
            if _bias_kind(cb.shape, m, n) == "row":
                bias_row = cb.reshape(-1)
            else:  # scalar or col (supports() ruled out the rest)
                bias_col = np.broadcast_to(cb.reshape(-1), (n,))
        ep = make_epilogue(
            activation, bias_row=bias_row, bias_col=bias_col, slope=slope, slope_axis="col"
        )
        y = output_array((m, n))
        bp = packed if packed is not None else weights(b)
        ext().bf16_gemm_a(np.asarray(op_a, F32), bp, n, y, ep, threads())
        return y

    return run


def _prepare_plain_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_gemm(node, constants)

    def gemm(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return run(a, b, c)

    return gemm


def _prepare_fused_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_gemm(node, constants)

    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return run(a, b, c, slope)

    return fused_gemm


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class Bf16Kernels(KernelBackend):
    """The bf16 kernels (the whole kernel table of CythonBf16Backend)."""

    @kernel(conv_1, dtypes=FLOAT32, supports=_conv_refusal, prepare=_prepare_conv)
    def conv(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_conv_1, dtypes=FLOAT32, supports=_conv_refusal, prepare=_prepare_fused_conv)
    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None,
        z: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(mat_mul_1, dtypes=FLOAT32, supports=_matmul_refusal, prepare=_prepare_plain_matmul)
    def mat_mul(a: Array, b: Array) -> Array:
        return _unprepared()

    @kernel(
        fused_mat_mul_1, dtypes=FLOAT32, supports=_matmul_refusal, prepare=_prepare_fused_matmul
    )
    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None, *,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_7, dtypes=FLOAT32, supports=_gemm_refusal, prepare=_prepare_plain_gemm)
    def gemm_7(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_11, dtypes=FLOAT32, supports=_gemm_refusal, prepare=_prepare_plain_gemm)
    def gemm_11(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_gemm_1, dtypes=FLOAT32, supports=_gemm_refusal, prepare=_prepare_fused_gemm)
    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
