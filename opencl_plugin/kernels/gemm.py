"""Gemm, FusedGemm, MatMul, FusedMatMul on gemm_f32 (gemm_tile.cl) / gemv_f32 (gemm.cl).

Constant B operands are packed once into 16-column panels ((N/16) x K x 16, zero padded) so the
kernel streams them contiguously; A is read row by row. Bias (per column), a same-shape residual
and the fused activation run in the kernel's epilogue.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...refimpl.ir import Node, Value
from ..builder import Builder, f32, i32
from ._checks import (
    PRELU,
    float32_inputs,
    fused_activation,
    is_const,
    slope_args,
    slope_refusal,
)
from .layout import transpose_into

# the GEMM tile's 8x16 float16-accumulator variants (gemm_wide_f32, gemm_float_wide_f32): None picks
# them where the device's native float vector width is 16, True / False forces (tests)
WIDE: bool | None = None


def pack_panels(b: np.ndarray) -> np.ndarray:
    """[..., K, N] -> [..., ceil(N/16), K, 16], zero padded: gemm_f32's panel layout."""
    *lead, k, n = b.shape
    npad = -(-n // 16) * 16
    padded = np.zeros((*lead, k, npad), np.float32)
    padded[..., :n] = b
    return np.ascontiguousarray(padded.reshape(*lead, k, npad // 16, 16).swapaxes(-3, -2))


def gemm(
    bld: Builder,
    a: Any,
    bm: Any,
    c: Any,
    *,
    M: int,
    N: int,
    K: int,
    lda: int,
    ldb: int,
    pstride: int,
    ldc: int,
    batch: int = 1,
    GA: int = 1,
    sA: int = 0,
    sB: int = 0,
    sC: int = 0,
    alpha: float = 1.0,
    bias: Any = None,
    bias_mode: int = 0,
    sbias: int = 0,
    res: Any = None,
    act: tuple[int, float, float] = (0, 0.0, 0.0),
    slope: Any = None,
    slope_mode: int = 0,
    kernel: str = "gemm_f32",
) -> None:
    """C = act(alpha * A @ B + bias + res), batched (see gemm_tile.cl for the operand layouts);
    `kernel` gemm_float_f32: every operand a float buffer whatever the storage type."""
    code, p0, p1 = act
    if M == 1 and batch == 1 and bias_mode != 1 and slope_mode != 1 and kernel == "gemm_f32":
        args = [a, bm, c, i32(N), i32(K), i32(ldb), i32(pstride), f32(alpha)]
        args += [bias, i32(bias is not None), res, i32(res is not None)]
        args += [i32(code), f32(p0), f32(p1), slope, i32(slope_mode)]
        bld.launch("gemv_f32", (-(-N // 16),), args)
        return
    rows = 6
    if bld.vector_width >= 16 if WIDE is None else WIDE:
        kernel, rows = kernel.replace("_f32", "_wide_f32"), 8
    args = [a, bm, c, i32(M), i32(N), i32(K), i32(lda), i32(ldb), i32(pstride), i32(ldc)]
    args += [i32(GA), i32(sA), i32(sB), i32(sC), f32(alpha), bias, i32(bias_mode), i32(sbias)]
    args += [res, i32(res is not None), i32(code), f32(p0), f32(p1), slope, i32(slope_mode)]
    bld.launch(kernel, (-(-N // 16), -(-M // rows), batch), args)


def _batch_dims(shape: tuple, out_batch: tuple) -> str | None:
    lead = tuple(shape[:-2])
    if all(d == 1 for d in lead):
        return None
    pad = (1,) * (len(out_batch) - len(lead)) + lead
    return None if pad == tuple(out_batch) else "batch dims broadcast partially"


def supports_matmul(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0, 1, 2)
    if why:
        return why
    a, b = inputs[0].shape, inputs[1].shape  # type: ignore[union-attr]
    if node.op_type == "FusedMatMul":
        if len(node.inputs) > 4 and node.inputs[4]:
            return "residual input (not in this kernel's epilogue)"
        act = fused_activation(node)
        if isinstance(act, str):
            return act
        if act[0] == PRELU:
            rank = max(len(a), len(b))
            why = slope_refusal(node, consts, 3, b[-1], rank - 1, rank)
            if why:
                return why
    if len(a) < 1 or len(b) < 1:
        return "scalar operand"
    if len(a) > 2 or len(b) > 2:
        lead_a, lead_b = tuple(a[:-2]), tuple(b[:-2])
        rank = max(len(lead_a), len(lead_b))
        pa = (1,) * (rank - len(lead_a)) + lead_a
        pb = (1,) * (rank - len(lead_b)) + lead_b
        out = tuple(y if x == 1 else x for x, y in zip(pa, pb))
        for shape in (a, b):
            if len(shape) > 2 and _batch_dims(shape, out):
                return "batch dims broadcast partially"
    if len(node.inputs) > 2 and node.inputs[2]:
        bias = inputs[2]
        if bias is None or bias.shape is None:
            return "bias of unknown shape"
        if not is_const(consts, node.inputs[2]) or math.prod(bias.shape) != b[-1]:  # type: ignore
            return "bias is not a constant per-column vector"
    return None


def lower_matmul(bld: Builder, node: Node, opset: int) -> None:
    an, bn = node.inputs[0], node.inputs[1]
    sa, sb = bld.shape(an), bld.shape(bn)
    M, K = (1, sa[0]) if len(sa) == 1 else sa[-2:]
    N = 1 if len(sb) == 1 else sb[-1]
    # the batch is the broadcast of both operands' leading dims (a 1-D A drops the M axis from
    # the output's shape, so the output's leading dims are not it)
    batch = math.prod(np.broadcast_shapes(tuple(sa[:-2]), tuple(sb[:-2])))
    na = math.prod(sa[:-2]) if len(sa) > 2 else 1
    nb = math.prod(sb[:-2]) if len(sb) > 2 else 1
    const_b = bld.const(bn)
    if const_b is not None:
        packed = pack_panels(const_b.reshape(nb, K, N))
        bm, ldb, pstride = bld.weight(f"{bn}::panels", packed), 16, 16 * K
        sB = packed[0].size if nb == batch and nb > 1 else 0
    else:
        bm, ldb, pstride, sB = bld.ref(bn), N, 16, K * N if nb == batch and nb > 1 else 0
    bias, mode = None, 0
    if len(node.inputs) > 2 and node.inputs[2]:
        bias, mode = bld.weight(node.inputs[2], bld.const(node.inputs[2]).reshape(-1)), 2
    act = fused_activation(node) if node.op_type == "FusedMatMul" else (0, 0.0, 0.0)
    assert not isinstance(act, str)
    act, slope, smode = slope_args(bld, node, 3, act, 2)
    gemm(
        bld,
        bld.ref(an),
        bm,
        bld.out(node.outputs[0]),
        M=M,
        N=N,
        K=K,
        lda=K,
        ldb=ldb,
        pstride=pstride,
        ldc=N,
        batch=batch,
        GA=batch if na == batch else 1,
        sA=M * K if na == batch and na > 1 else 0,
        sB=sB,
        sC=M * N,
        bias=bias,
        bias_mode=mode,
        res=None,
        act=act,
        slope=slope,
        slope_mode=smode,
    )


def supports_gemm(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0, 1, 2)
    if why:
        return why
    if node.op_type == "FusedGemm":
        act = fused_activation(node)
        if isinstance(act, str):
            return act
        n = inputs[1].shape[0 if node.attrs.get("transB", 0) else -1]  # type: ignore[union-attr]
        if act[0] == PRELU and slope_refusal(node, consts, 3, n, 1, 2):
            return slope_refusal(node, consts, 3, n, 1, 2)
    if len(inputs[0].shape) != 2 or len(inputs[1].shape) != 2:  # type: ignore[union-attr]
        return "Gemm operands must be 2-D"
    if len(node.inputs) > 2 and node.inputs[2]:
        c = inputs[2]
        if c is None or c.shape is None or len(c.shape) > 2:
            return "C of unknown or bad rank"
        if not is_const(consts, node.inputs[2]) and float(node.attrs.get("beta", 1.0)) != 1.0:
            return "a non-constant C with beta != 1"
    return None


def lower_gemm(bld: Builder, node: Node, opset: int) -> None:
    an, bn = node.inputs[0], node.inputs[1]
    ta, tb = int(node.attrs.get("transA", 0)), int(node.attrs.get("transB", 0))
    alpha, beta = float(node.attrs.get("alpha", 1.0)), float(node.attrs.get("beta", 1.0))
    M, N = bld.shape(node.outputs[0])
    K = bld.shape(an)[0 if ta else 1]
    a = bld.ref(an)
    if ta:
        a = transpose_into(bld, a, bld.shape(an), (1, 0), "at")
    const_b = bld.const(bn)
    if const_b is not None:
        bmat = const_b.T if tb else const_b
        bm, ldb, pstride = bld.weight(f"{bn}::panels{tb}", pack_panels(bmat)), 16, 16 * K
    else:
        bm, ldb, pstride = bld.ref(bn), N, 16
        if tb:
            bm = transpose_into(bld, bm, bld.shape(bn), (1, 0), "bt")
    bias, mode, res = None, 0, None
    if len(node.inputs) > 2 and node.inputs[2]:
        cn = node.inputs[2]
        c = bld.const(cn)
        if c is not None:
            full = (beta * c.astype(np.float64)).astype(np.float32)
            cshape = (1,) * (2 - c.ndim) + c.shape
            if cshape[0] == 1:
                col = np.broadcast_to(full.reshape(-1), (N,))
                bias, mode = bld.weight(f"{cn}::col{beta}", col), 2
            elif cshape[1] == 1:
                row = np.broadcast_to(full.reshape(-1), (M,))
                bias, mode = bld.weight(f"{cn}::row{beta}", row), 1
            else:
                res = bld.weight(f"{cn}::full{beta}", np.broadcast_to(full, (M, N)))
        else:
            res = bld.ref(cn)
            if bld.shape(cn) != (M, N):
                res = _expand(bld, cn, (M, N))
    act = fused_activation(node) if node.op_type == "FusedGemm" else (0, 0.0, 0.0)
    assert not isinstance(act, str)
    act, slope, smode = slope_args(bld, node, 3, act, 2)
    gemm(
        bld,
        a,
        bm,
        bld.out(node.outputs[0]),
        M=M,
        N=N,
        K=K,
        lda=K,
        ldb=ldb,
        pstride=pstride,
        ldc=N,
        alpha=alpha,
        bias=bias,
        bias_mode=mode,
        res=res,
        act=act,
        slope=slope,
        slope_mode=smode,
    )


def _expand(bld: Builder, name: str, shape: tuple[int, int]) -> Any:
    from .layout import copy_strided

    src = bld.shape(name)
    src = (1,) * (2 - len(src)) + tuple(src)
    dst = bld.scratch("cexp", shape[0] * shape[1])
    sstr = [0 if src[0] == 1 else src[1], 0 if src[1] == 1 else 1]
    copy_strided(bld, bld.ref(name), 0, dst, 0, shape, sstr, [shape[1], 1], "cexp")
    return dst


SUPPORT = {
    "Gemm": supports_gemm,
    "FusedGemm": supports_gemm,
    "MatMul": supports_matmul,
    "FusedMatMul": supports_matmul,
}
LOWER = {
    "Gemm": lower_gemm,
    "FusedGemm": lower_gemm,
    "MatMul": lower_matmul,
    "FusedMatMul": lower_matmul,
}
