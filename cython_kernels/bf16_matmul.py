"""MatMul, FusedMatMul, Gemm and FusedGemm in bfloat16 with float32 accumulation (the
`cython-bf16` backend's matrix products; its table: bf16_kernels.py), and the bf16 packing of
both operands that its convolutions (bf16_conv.py) share."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ._common import (
    F32,
    aligned_empty,
    all_float32,
    known_shape,
    static_shape,
    threads,
)
from ._native import ext
from .bf16_mode import select_bf16_impl
from .gemm_kernels import (
    _residual_refusal,
    batch_refusal,
    fused_activation,
    make_epilogue,
    node_activation_refusal,
)
from .weight_pages import weight_empty

Array = np.ndarray
U32 = np.uint32
# a batch of right operands (attention's per-head products) in one bf16_gemm_batched call: each
# matrix packed and multiplied in C, no Python per matrix; False: one Python call per matrix
ONE_CALL = True
# a MatMul's operand shapes checked (and its batch shape computed) once per pair of shapes and kept
# (numpy's prod / broadcast_shapes were half of the node's Python); False: every call (benchmarks)
CACHE_SHAPES = True
_SHAPES_KEPT = 8
# packed panels start on a 64-byte boundary (aligned_empty): an AMX tile row (64 bytes) of
# numpy's 16-byte-aligned buffer crosses two cache lines on every tile load; False: np.empty as
# before (the A/B knob: ResNet-18's direct convs' weights, src/bf16.h)
ALIGN_PACKED = True


def _packed(size: int) -> Array:
    return aligned_empty(size, U32) if ALIGN_PACKED else np.empty(size, U32)


def pack_b(b: Array, weights: bool = False) -> Array:
    """B (K x N, any strides) as bf16 pairs in 16-column panels; weights: B is a constant whose
    panels every run streams, placed in the weight pages (weight_pages.py: 2 MiB pages where it
    is large: MiniLM's 21 MB of bf16 weights in 4 KiB pages are ~5,300 pages against the STLB's
    2,048)."""
    k, n = b.shape
    size = ext().bf16_packed_b_size(k, n)
    out = weight_empty(size, U32) if weights and ALIGN_PACKED else _packed(size)
    if k and n:
        ext().bf16_pack_b(np.asarray(b, F32), out, threads())
    return out


def pack_a(a: Array) -> Array:
    """A (M x K, any strides) as bf16 pairs in 16-row panels."""
    m, k = a.shape
    out = _packed(ext().bf16_packed_a_size(m, k))
    if m and k:
        ext().bf16_pack_a(np.asarray(a, F32), out, threads())
    return out


# ---- MatMul / FusedMatMul ------------------------------------------------------------------------


def matmul_refusal(node: Node, inputs: list[Value | None]) -> str | None:
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
        if why is None and len(inputs) > 4 and inputs[4] is not None:
            why = _residual_refusal(inputs)  # added in the epilogue: the product's shape, 2-D B
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
    return batch_refusal(a, b)  # type: ignore[arg-type]


def _prepare_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    select_bf16_impl()  # the pair step GOSSAMER_BF16 names, for this session's kernels
    activation = fused_activation(
        str(node.attrs.get("activation", "")), node.attrs.get("activation_params")
    )
    w = constants.get(1)
    packed = None
    if w is not None and int(np.prod(w.shape[:-2])) == 1:
        packed = pack_b(np.asarray(w, F32).reshape(w.shape[-2:]), weights=True)

    batches: dict[tuple, tuple] = {}  # (a's shape, b's shape) -> the batch, once checked

    def run(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None,
        residual: Array | None = None,
    ) -> Array:  # fmt: skip
        key = (a.shape, b.shape)
        batch = batches.get(key) if CACHE_SHAPES else None
        if batch is None:
            if a.shape[-1] != b.shape[-2] or a.size == 0 or b.size == 0:
                raise RuntimeDecline(f"operands {list(a.shape)} @ {list(b.shape)} not run in bf16")
            why = batch_refusal(a.shape, b.shape)
            if why:
                raise RuntimeDecline(why)
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            if len(batches) >= _SHAPES_KEPT:
                batches.clear()
            batches[key] = batch
        k, n = b.shape[-2:]
        m, t = a.shape[-2], threads()
        one_b = packed is not None or math.prod(b.shape[:-2]) == 1
        if residual is not None and (not one_b or residual.shape != (*batch, m, n)):
            raise RuntimeDecline("residual other than the exact shape of a product with a 2-D B")
        z = None if residual is None else residual.reshape(-1, n)
        ep = make_epilogue(activation, bias_col=bias, slope=slope, slope_axis="col", residual=z)
        y = output_array((*batch, m, n))
        if one_b:
            bp = packed if packed is not None else pack_b(b.reshape(k, n))
            ext().bf16_gemm_a(np.asarray(a, F32).reshape(-1, k), bp, n, y.reshape(-1, n), ep, t)
            return y
        a3, b3, y3 = a.reshape(-1, m, k), b.reshape(-1, k, n), y.reshape(-1, m, n)
        if ONE_CALL and b3.shape[0] == y3.shape[0] and a3.shape[0] in (1, y3.shape[0]):
            bp = _packed(ext().bf16_packed_b_size(k, n))  # each B in turn
            ext().bf16_gemm_batched(np.asarray(a3, F32), np.asarray(b3, F32), y3, ep, bp, t)
            return y
        for i in range(y3.shape[0]):  # batched right operands: each rounded and packed per call
            ext().bf16_gemm_a(np.asarray(a3[i % a3.shape[0]], F32), pack_b(b3[i]), n, y3[i], ep, t)
        return y

    return run


def prepare_plain_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_matmul(node, constants)

    def mat_mul(a: Array, b: Array) -> Array:
        return run(a, b)

    return mat_mul


def prepare_fused_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_matmul(node, constants)

    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None,
        residual: Array | None = None, *, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return run(a, b, bias, slope, residual)

    return fused_mat_mul


# ---- Gemm / FusedGemm ----------------------------------------------------------------------------


def gemm_refusal(node: Node, inputs: list[Value | None]) -> str | None:
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

    def weights(b: Array, constant: bool = False) -> Array:
        op_b = np.asarray(b, F32).T if trans_b else np.asarray(b, F32)
        return pack_b(op_b * F32(alpha) if alpha != 1.0 else op_b, weights=constant)

    packed = weights(constants[1], constant=True) if 1 in constants else None
    # the epilogue per (M, N) where C is the constant and there is no slope: made once (its
    # biases and the object cost ~20-50 us a run after a chain of AMX convs, ResNet-18's FC)
    kept: dict[tuple[int, int], Any] = {}
    constant_c = constants.get(2)

    def epilogue(c: Array | None, slope: Array | None, m: int, n: int) -> Any:
        bias_row = bias_col = None
        if c is not None and beta != 0.0:
            cb = np.asarray(c, F32) * F32(beta) if beta != 1.0 else np.asarray(c, F32)
            if _bias_kind(cb.shape, m, n) == "row":
                bias_row = cb.reshape(-1)
            else:  # scalar or col (supports() ruled out the rest)
                bias_col = np.broadcast_to(cb.reshape(-1), (n,))
        return make_epilogue(
            activation, bias_row=bias_row, bias_col=bias_col, slope=slope, slope_axis="col"
        )

    def run(a: Array, b: Array, c: Array | None = None, slope: Array | None = None) -> Array:
        op_a = a.T if trans_a else a
        m, n = op_a.shape[0], (b.shape[0] if trans_b else b.shape[1])
        if op_a.shape[1] != (b.shape[1] if trans_b else b.shape[0]):
            raise RuntimeDecline(f"Gemm: A {list(a.shape)} and B {list(b.shape)} disagree on K")
        if slope is None and c is not None and c is constant_c:
            ep = kept.get((m, n))
            if ep is None:
                ep = kept[(m, n)] = epilogue(c, None, m, n)
        else:
            ep = epilogue(c, slope, m, n)
        y = output_array((m, n))
        bp = packed if packed is not None else weights(b)
        ext().bf16_gemm_a(np.asarray(op_a, F32), bp, n, y, ep, threads())
        return y

    return run


def prepare_plain_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_gemm(node, constants)

    def gemm(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return run(a, b, c)

    return gemm


def prepare_fused_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_gemm(node, constants)

    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return run(a, b, c, slope)

    return fused_gemm
