"""Winograd F(r x r, 3 x 3) convolution (r = 2 or 4) on wino<r>_input_f32, gemm_float_f32 and
wino<r>_output_f32 (winograd.cl): for 3x3 convolutions with stride 1, no dilation and one group.

The weights are transformed once, at plan time, in float64 (U = G g G^T, stored as float32 under
fp16 storage too) and stay on the device. F(4x4) does 4x fewer multiplications than a direct
convolution, F(2x2) 2.25x fewer with a smaller rounding error (its transforms have coefficients
0, +-1, 1/2).
"""

from __future__ import annotations

import numpy as np

from ..builder import Builder, f32, i32
from .gemm import gemm

# G (a x 3) of F(r, 3) with the interpolation points 0, +-1 (and +-2, infinity for r = 4)
G_MATRIX = {
    2: np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]),
    4: np.array(
        [
            [1 / 4, 0, 0],
            [-1 / 6, -1 / 6, -1 / 6],
            [-1 / 6, 1 / 6, -1 / 6],
            [1 / 24, 1 / 12, 1 / 6],
            [1 / 24, -1 / 12, 1 / 6],
            [0, 0, 1],
        ]
    ),
}


def eligible(kernel: tuple, strides: tuple, dilations: tuple, groups: int) -> bool:
    """Whether a convolution can run as Winograd F(r x r, 3 x 3) here."""
    return (
        tuple(kernel) == (3, 3)
        and tuple(strides) == (1, 1)
        and tuple(dilations) == (1, 1)
        and (groups == 1)
    )


def transform_weights(w: np.ndarray, r: int) -> np.ndarray:
    """w[M, C, 3, 3] -> U[a*a, M, C] with U[i*a + j] = (G w G^T)[i, j], a = r + 2."""
    g = G_MATRIX[r]
    a = r + 2
    u = np.einsum("ik,mckl,jl->ijmc", g, w.astype(np.float64), g)
    return np.ascontiguousarray(u.reshape(a * a, *w.shape[:2]), dtype=np.float32)


def lower_winograd(
    bld: Builder,
    r: int,
    wn: str,
    w: np.ndarray,
    x: object,
    y: object,
    geometry: tuple[int, ...],
    epilogue: list,
) -> None:
    """Launches y = conv3x3(x, w) + epilogue as input transform, batched GEMM, output transform.
    geometry: (n_img, C, H, W, M, OH, OW, ph, pw); epilogue: [bias, has_bias, res, has_res, act,
    p0, p1, slope, slope_mode] as wino<r>_output_f32 takes them."""
    n_img, C, H, W, M, OH, OW, ph, pw = geometry
    a = r + 2
    TH, TW = -(-OH // r), -(-OW // r)
    T = TH * TW
    tpad = -(-T // 16) * 16
    # the transformed weights and tiles stay float under fp16 storage: the output transform's
    # differences of nearby sums (coefficients up to 8) would amplify half's rounding ~10x
    u = bld.weight_float(f"{wn}::winograd{r}", transform_weights(w, r))
    v = bld.scratch_float(f"wino{r}_v", n_img * a * a * C * tpad)
    yw = bld.scratch_float(f"wino{r}_y", n_img * a * a * M * T)
    geo = [i32(g) for g in (C, H, W, TW, T, tpad, ph, pw)]
    bld.launch(f"wino{r}_input_f32", (-(-TW // 8), TH, n_img * C), [x, v, *geo])
    gemm(
        bld,
        u,
        v,
        yw,
        M=M,
        N=T,
        K=C,
        lda=C,
        ldb=tpad,
        pstride=16,
        ldc=T,
        batch=n_img * a * a,
        GA=a * a,
        sA=M * C,
        sB=C * tpad,
        sC=M * T,
        kernel="gemm_float_f32",
    )
    bias, has_bias, res, has_res, act, p0, p1, slope, smode = epilogue
    args = [yw, y, bias, i32(has_bias), res, i32(has_res)]
    args += [i32(g) for g in (M, OH, OW, TW, T)]
    args += [i32(act), f32(p0), f32(p1), slope, i32(smode)]
    # for tiles with an inf or NaN input: the direct convolution, from x and the plain weights
    args += [x, bld.weight(wn, w.reshape(M, C * 9)), *(i32(g) for g in (C, H, W, ph, pw))]
    bld.launch(f"wino{r}_output_f32", (-(-TW // 8), TH, n_img * M), args)
