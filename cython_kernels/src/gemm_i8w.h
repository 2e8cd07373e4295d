/* SGEMM with int8 weights: B[kk, j] = (float)q[kk, j] * scale[j], the int8 codes q kept in
 * 16-column panels with their column scales (a quarter of the bytes of float32 panels: a product
 * of few rows, MiniLM-int8's 16, is bound by reading its weights from memory). gemm_i8w.c drives
 * it: a block of C widens its B panels a register block of columns at a time (the level's kernel,
 * gemm_i8w_kernels.inc: one float32 rounding per element, the value Cast + Mul folds the weight
 * to) into a per-thread buffer that then goes through gemm.h's level kernel as packed B. So every
 * element of C is the same sum in the same order (gemm.h's K blocks) as gk_gemm's with the
 * weight folded to float32 and packed: the same bits, at any thread count. */
#ifndef GK_GEMM_I8W_H
#define GK_GEMM_I8W_H

#include <stddef.h>

#include "gemm.h"

/* bytes of one packed panel: 16 float32 column scales, then K x 16 int8 codes (k-major); the
 * columns past N have code 0 and scale 0 (widened to 0.0f, as float32 packing pads) */
#define GK_I8W_PANEL(k) (GK_NR * (long)sizeof(float) + GK_NR * (long)(k))

/* bytes of packed int8 B (ceil(N/16) panels) */
size_t gk_packed_b_i8w_size(long k, long n);
/* out = the codes q (K x N, element (kk, j) at q[kk * s_k + j * s_n]) with their column scales
 * (N floats) in panels */
void gk_pack_b_i8w(long k, long n, const signed char *q, long s_k, long s_n, const float *scale,
                   signed char *out);
/* C[M,N] = epilogue(A @ B) with A by strides (packed by this call) and B packed by
 * gk_pack_b_i8w: the bits of gk_gemm with B = (float)q * scale packed by gk_pack_b */
void gk_gemm_i8w(long m, long n, long k, const float *a, long s_m, long s_k,
                 const signed char *qb, float *c, long ldc, const gk_epilogue *ep, int threads);

/* ---- per-level kernels (gemm_i8w_kernels.inc; dispatch.c selects one level's) -------------- */

typedef struct {
    /* dst[kk * 16 + j] = (float)codes[kk * 16 + j] * scale[j] for kk < k, one packed panel */
    void (*widen)(const signed char *panel, long k, float *dst);
} gk_gemm_i8w_kernels;

#endif
