/* SGEMM with an unpacked right operand (gemm_direct.c drives it, gemm_direct_kernels.inc holds
 * the per-level register kernels): B's row kk is the contiguous floats b + roff[kk] + (0 .. n),
 * read in place. A 1x1 / stride-1 conv's B is its input plane (roff[kk] = kk * n); a stride-1
 * conv's im2col rows are shifted slices of a zero-padded input whose rows are padded to the
 * output width plus the window (see conv.c), so neither packs B. A is packed (gemm.h, 12-row
 * panels); the epilogue is gemm.h's, in registers except the activations. */
#ifndef GK_GEMM_DIRECT_H
#define GK_GEMM_DIRECT_H

#include "gemm.h"

/* C[M,N] = epilogue(packed A @ B), B[kk, j] = b[roff[kk] + j]. Returns 0 (C untouched) where the
 * SIMD level has no such kernel (generic): the caller then packs B. Every element is the same
 * sum over K in the same order (K blocks of gemm.h's KC) as gk_gemm_packed's, so the bits are
 * those of packing B and calling gk_gemm_packed, at any thread count. */
int gk_gemm_direct(long m, long n, long k, const float *ap, const float *b, const long *roff,
                   float *c, long ldc, const gk_epilogue *ep, int threads);

/* ---- per-level kernels (gemm_direct_kernels.inc; dispatch.c selects one level's) ----------- */

typedef struct {
    long m, n, k;
    const float *ap, *b;
    const long *roff;
    float *c;
    long ldc;
    const gk_epilogue *ep;
    long kc, mc;
} gk_gemmd_args;

typedef struct {
    /* columns of C per register block (2 vectors) */
    long col_unit;
    /* C[m0:m1, n0:n1] (m0 a multiple of GK_MR, n0 of col_unit); NULL at the generic level */
    void (*block)(const gk_gemmd_args *g, long m0, long m1, long n0, long n1);
} gk_gemm_direct_kernels;

#endif
