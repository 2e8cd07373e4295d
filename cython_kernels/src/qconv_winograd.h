/* Exact int8 3x3, stride-1 convolution by Winograd F(2x2, 3x3) in integers (QLinearConv,
 * ConvInteger): Y = A^T [U' . V] A / 4 per 2x2 output tile, with U' = G' g G'^T (G' = 2G =
 * [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]], integers: 4x the usual U) and V = B^T d B of the 4x4 input
 * tile d = x - zx (zero padding). The 16 products U'[q] . V[q] summed over channels are 16 int16
 * GEMMs (src/qgemm.h: U' packed once as A, M x C; V packed per call as B, C x tiles), 2.25x fewer
 * multiply-adds than the direct conv.
 *
 * Exactness: |V| <= 4 * 255 and |U'| <= 9 * 255 fit int16, and a pair of products fits int32, so
 * the GEMM is exact modulo 2^32 (it wraps, as the output transform does): the result is 4 y mod
 * 2^32, and the shift right by 2 gives y itself whenever |y| < 2^29. The caller guarantees that
 * (qconv_kernels.py: 255 * sum |w - zw| < 2^29 for every output channel), so the int32 sum
 * (before the bias) equals the direct conv's bit for bit. */
#ifndef GK_QCONV_WINOGRAD_H
#define GK_QCONV_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "qgemm.h"

/* int16 elements of the 16 packed-B matrices of the transformed input (c channels, t tiles) */
size_t gk_qwino_packed_b_size(long c, long t);
/* int16s of per-thread scratch the input transform needs for tw tiles per row */
size_t gk_qwino_in_scratch(long tw);
/* int32s of work: the 16 GEMM outputs (m x t each) and every thread's output rows */
size_t gk_qwino_work(long m, long oh, long ow, int threads);
/* y (m x oh x ow, ep->out_type) = epilogue(conv(x - zx, w)) for x (c x h x w, type), padding
 * (ph, pw) at the top/left (the rest implied by oh, ow), up: 16 packed-A matrices (each
 * gk_qpacked_a_size(m, c) int16s, matrix q = U'[q] as M x C); bp: gk_qwino_packed_b_size int16s;
 * work: gk_qwino_work int32s. Returns 0 if a thread's scratch could not be allocated. */
int gk_qconv_winograd(const void *x, int type, long c, long h, long w, long ph, long pw, long oh,
                      long ow, int32_t zx, const int16_t *up, long m, const gk_qepilogue *ep,
                      void *y, int16_t *bp, int32_t *work, int threads);

#endif
