"""What the `cython-bf16` backend computes, in numpy: bfloat16 products accumulated in float32 as
AVX512_BF16's vdpbf16ps does (cython_kernels/src/bf16.h states the same in C). The kernels, native
or emulated, must match `bf16_matmul` bit for bit (NaN matching NaN); against the float32
reference they differ by the rounding of the operands, which `conformance/tolerances/
cython-bf16.json` allows.

AMX's TDPBF16PS (the kernels' path where the CPU has AMX-BF16 and it is not switched off) does not
give these bits: it reads a product below 2^-126 as zero and sums a pair's two products (and more)
before it rounds into the accumulator (docs/bf16.md, "AMX"). Its results are checked against the
exact product of the bf16 operands at `amx_error_bound`, and its conformance against float32 at the
same tolerance file.

Per the Intel SDM (VDPBF16PS): "Round to nearest even" rounding mode is used when doing each
accumulation of the FMA; output denormals are always flushed to zero and input denormals are
always treated as zero; per float32 lane, srcdest += odd pair product, then += even pair product.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

F32 = np.float32
MIN_NORMAL = F32(2.0**-126)  # float32's (and bfloat16's) smallest normal


def flush(x: np.ndarray) -> np.ndarray:
    """Denormals (|x| < 2^-126) as zeros of their sign."""
    return np.where(np.abs(x) < MIN_NORMAL, np.copysign(F32(0.0), x), x).astype(F32)


def to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 (round to nearest even) -> float32, a denormal result read as zero:
    what the kernels store when they pack an operand."""
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.asarray(x, F32).astype(ml_dtypes.bfloat16).astype(F32)
    return flush(rounded)


def fma_ftz(x: np.ndarray, y: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """ftz(x * y + acc) rounded once to float32 (x, y bfloat16 values, so x * y is exact in
    float64; the sum of two values of <= 24 significant bits rounded to float64, then float32, is
    rounded once: 53 >= 2 * 24 + 2)."""
    with np.errstate(over="ignore", invalid="ignore"):
        exact = acc.astype(np.float64) + x.astype(np.float64) * y.astype(np.float64)
        return flush(exact.astype(F32))


def bf16_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A (M x K) @ B (K x N): operands rounded to bfloat16, one float32 accumulator per element
    starting at +0, over the pairs (2p, 2p+1) in order: acc = fma_ftz(a[2p+1], b[2p+1], acc),
    then acc = fma_ftz(a[2p], b[2p], acc); an odd K's last pair has a zero odd element."""
    a, b = to_bf16(a), to_bf16(b)
    (m, k), n = a.shape, b.shape[1]
    acc = np.zeros((m, n), F32)
    zero = np.zeros((1, 1), F32)
    for p in range(0, k, 2):
        if p + 1 < k:
            acc = fma_ftz(a[:, p + 1, None], b[None, p + 1, :], acc)
        else:
            acc = fma_ftz(zero, zero, acc)
        acc = fma_ftz(a[:, p, None], b[None, p, :], acc)
    return acc


def bf16_relative_error_bound(k: int) -> float:
    """Worst-case |bf16 result - exact| / sum_k |a_k b_k| for inner length k (first order): both
    operands rounded to 8 significant bits (relative error up to u = 2^-8 each, so a product
    within 2u + u^2) plus k float32 roundings of the accumulator (2^-24 each). The statistical
    estimate that conformance/tolerances/cython-bf16.json uses is derived next to it there."""
    u = 2.0**-8
    return 2 * u + u * u + k * 2.0**-24


def amx_error_bound(k: int) -> float:
    """|tdpbf16ps result - exact| / sum_k |a_k b_k| for inner length k, the operands already
    bfloat16 (their products exact): whatever order and grouping the tiles sum the k products in,
    each sum is one float32 rounding (2^-24 relative) and no product passes through more than k of
    them (first order, with a margin of one); products below 2^-126 (read as zero) are not
    covered (keep the operands' products normal where this bound is used)."""
    return (k + 1) * 2.0**-24
