"""MatMul, Gemm and their gossamer::Fused* forms on the packed GEMM (bias + Relu/Clip fused).

A constant right operand (weights) is packed once in `prepare`; the left operand is packed per
call. MatMul with two run-time operands (attention) uses the batched kernel, which packs both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, kernel
from ..refimpl.ir import Node, Value
from ..refimpl.ops.op_fused_gemm import fused_gemm_1
from ..refimpl.ops.op_fused_mat_mul import fused_mat_mul_1
from ..refimpl.ops.op_gemm import gemm_7, gemm_11
from ..refimpl.ops.op_mat_mul import mat_mul_1
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


def pack_weights(b: Array) -> Array:
    """B (K x N, any strides) packed into 16-column panels, once."""
    k, n = b.shape
    out = np.empty(ext().packed_b_size(k, n), F32)
    ext().pack_b(np.asarray(b, F32), out, threads())
    return out


def gemm_rows(a2: Array, packed_b: Array, n: int, bias_col: Array | None, bounds: tuple) -> Array:
    """clip(a2 @ B + bias_col, lo, hi) for a 2-D left operand and packed B."""
    m, k = a2.shape
    t = threads()
    ap = scratch(ext().packed_a_size(m, k))
    ext().pack_a(a2, ap, t)
    y = np.empty((m, n), F32)
    ext().gemm(m, n, k, ap, packed_b, y, None, bias_col, *bounds, t)
    return y


def batched_matmul(a: Array, b: Array) -> Array:
    """a @ b with numpy broadcasting of batch dims (supported: equal, or one side batch-free)."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    a3 = np.asarray(a, F32).reshape(-1, m, k)
    b3 = np.asarray(b, F32).reshape(-1, k, n)
    y = np.empty((*batch, m, n), F32)
    ext().matmul_batched(a3, b3, y.reshape(-1, m, n), threads())
    return y


def _batch_refusal(a: tuple[int, ...], b: tuple[int, ...]) -> str | None:
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
    bad = all_float32(inputs)
    if bad:
        return bad
    a, b = known_shape(inputs[0]), known_shape(inputs[1])
    if a is None or b is None:
        return "operand shapes unknown before running"
    if len(a) < 2 or len(b) < 2:
        return "1-D operands not supported"
    if 0 in a or 0 in b:
        return "empty operands"
    return _batch_refusal(a, b)


def _fused_matmul_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = _matmul_refusal(node, inputs[:2]) or fused_activation_refusal(node)
    if why:
        return why
    bias = known_shape(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else ()
    n = known_shape(inputs[1])[-1]  # type: ignore[index]
    if bias is None or (bias and (int(np.prod(bias)) != n or bias[-1] != n)):
        return "bias other than a vector over the last axis"
    if len(known_shape(inputs[0]) or ()) < len(bias):  # bias would add batch dims
        return "bias has more dims than the result"
    return None


def _prepare_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    activation = str(node.attrs.get("activation", ""))
    bounds = epilogue_bounds(activation, node.attrs.get("activation_params"))
    w = constants.get(1)
    packed = pack_weights(w) if w is not None and w.ndim == 2 else None

    def run(a: Array, b: Array, bias: Array | None = None) -> Array:
        bias_col = None if bias is None else np.ascontiguousarray(bias, F32).reshape(-1)
        if packed is not None:
            k, n = b.shape
            y = gemm_rows(np.asarray(a, F32).reshape(-1, k), packed, n, bias_col, bounds)
            return y.reshape(*a.shape[:-1], n)
        y = batched_matmul(a, b)
        if bias_col is not None:
            y += bias_col
        if bounds[2]:
            np.clip(y, F32(bounds[0]), F32(bounds[1]), out=y)  # NaN stays NaN, as in the epilogue
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
        return run(a, b, bias)

    return fused_mat_mul


def _gemm_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs[:3])
    if bad:
        return bad
    a, b = known_shape(inputs[0]), known_shape(inputs[1])
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return "operand shapes unknown or not 2-D"
    if 0 in a or 0 in b:
        return "empty operands"
    m = a[1] if node.attrs.get("transA", 0) else a[0]
    n = b[0] if node.attrs.get("transB", 0) else b[1]
    c = known_shape(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else ()
    if c is None:
        return "C shape unknown before running"
    if c and node.attrs.get("beta", 1.0) != 0.0 and _bias_kind(c, m, n) is None:
        return f"C of shape {list(c)} is not a per-row or per-column bias"
    return fused_activation_refusal(node) if node.op_type == "FusedGemm" else None


def _bias_kind(c: tuple[int, ...], m: int, n: int) -> str | None:
    """How C broadcasts onto (M, N): "scalar", "col" ([N] / [1, N]), "row" ([M, 1]) or None."""
    if int(np.prod(c)) == 1:
        return "scalar"
    if c[-1] == n and int(np.prod(c)) == n:
        return "col"
    if len(c) == 2 and c == (m, 1):
        return "row"
    return None


def _prepare_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    attrs = node.attrs
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    bounds = epilogue_bounds(str(attrs.get("activation", "")), attrs.get("activation_params"))

    def weights(b: Array) -> Array:
        op_b = np.asarray(b, F32).T if trans_b else np.asarray(b, F32)
        return pack_weights(op_b * F32(alpha) if alpha != 1.0 else op_b)

    packed = weights(constants[1]) if 1 in constants else None

    def run(a: Array, b: Array, c: Array | None = None) -> Array:
        op_a = a.T if trans_a else a
        m, n = op_a.shape[0], (b.shape[0] if trans_b else b.shape[1])
        bias_row = bias_col = None
        if c is not None and beta != 0.0:
            cb = np.asarray(c, F32) * F32(beta) if beta != 1.0 else np.asarray(c, F32)
            kind = _bias_kind(cb.shape, m, n)
            if kind == "row":
                bias_row = np.ascontiguousarray(cb.reshape(-1))
            else:  # scalar or col (supports() ruled out the rest)
                bias_col = np.ascontiguousarray(np.broadcast_to(cb.reshape(-1), (n,)))
        bp = packed if packed is not None else weights(b)
        t = threads()
        k = op_a.shape[1]
        ap = scratch(ext().packed_a_size(m, k))
        ext().pack_a(np.asarray(op_a, F32), ap, t)
        y = np.empty((m, n), F32)
        ext().gemm(m, n, k, ap, bp, y, bias_row, bias_col, *bounds, t)
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
        return run(a, b, c)

    return fused_gemm


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class GemmKernels(KernelBackend):
    """The GEMM-based kernels (mixed into CythonBackend)."""

    @kernel(mat_mul_1, dtypes={"float32"}, supports=_matmul_refusal, prepare=_prepare_plain_matmul)
    def mat_mul(a: Array, b: Array) -> Array:
        return _unprepared()

    @kernel(
        fused_mat_mul_1, dtypes={"float32"}, supports=_fused_matmul_refusal,
        prepare=_prepare_fused_matmul,
    )  # fmt: skip
    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None, *,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_7, dtypes={"float32"}, supports=_gemm_refusal, prepare=_prepare_plain_gemm)
    def gemm_7(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_11, dtypes={"float32"}, supports=_gemm_refusal, prepare=_prepare_plain_gemm)
    def gemm_11(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_gemm_1, dtypes={"float32"}, supports=_gemm_refusal, prepare=_prepare_fused_gemm)
    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
