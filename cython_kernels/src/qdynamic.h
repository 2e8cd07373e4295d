/* Dynamic int8 quantisation in one call per node (DynamicQuantizeLinear, DynamicQuantizeMatMul,
 * MatMulIntegerToFloat): the data-dependent scale and zero point are computed and read in C, so a
 * node's work is one recorded C call (segments replay it with no Python between nodes).
 *
 * Scale and zero point exactly as refimpl/ops/op_dynamic_quantize_linear.py computes them:
 *   high = max(0, max(x)), low = min(0, min(x)) (a NaN anywhere: both 0), in float32;
 *   scale = float32(high == low ? 1 : high - low) / 255 (float32 division);
 *   zp = saturate_u8(rint(float32(-low / scale))) with NaN -> 0. */
#ifndef GK_QDYNAMIC_H
#define GK_QDYNAMIC_H

#include <stdint.h>

#include "qgemm.h"

/* DynamicQuantizeLinear's scale and zero point of x[0, n) (n > 0) */
void gk_qdyn_params(long n, const float *x, float *scale, uint8_t *zp, int threads);
/* DynamicQuantizeLinear: y[i] = saturate_u8(rint(x[i] / scale) + zp); *scale_out, *zp_out */
void gk_qdyn_quantize(long n, const float *x, uint8_t *y, float *scale_out, uint8_t *zp_out,
                      int threads);

/* One float-output int8 product C[M, N] (row stride ldc) = float32(acc + bias) * (a_scale *
 * b_scale[j]) + fbias[j], with B packed once (by gk_q8_pack_b as type tb, or gk_qpack_b):
 * - x != NULL (DynamicQuantizeMatMul): A = DynamicQuantizeLinear(x) (float32 rows, stride ldx),
 *   its scale and zero point computed here; a, a_scale, a_zp unused;
 * - x == NULL (MatMulIntegerToFloat): A = a (8-bit rows of type ta, stride lda bytes), its scale
 *   read from *a_scale and its zero point from *a_zp (of type ta; NULL: 0).
 * ep_b: the epilogue with mult = b_scale (mult_cs 0 or 1, mult_rs 0) and its float bias; the
 * call multiplies a_scale in (float32, the reference's product) into mult_buf (N floats).
 * q8 != 0: the 8-bit GEMM (bq, tb, zb[j * zb_s], sb: gk_q8_gemm's stored operand, zero points in
 * the stored domain, column sums), A packed into ap8 (gk_q8_packed_size(m, k) bytes) with row
 * sums into sa (M int32s; NULL where zb is all 0); else the int16-pair GEMM (bp16 from
 * gk_qpack_b, A packed into ap16, gk_qpacked_a_size(m, k) int16s).
 * Returns 0 where gk_q8_gemm fails (no memory), else 1. */
int gk_qdyn_matmul(long m, long n, long k, const float *x, long ldx, const uint8_t *a, int ta,
                   long lda, const float *a_scale, const uint8_t *a_zp, int q8,
                   const uint8_t *bq, int tb, const int32_t *zb, long zb_s, const int32_t *sb,
                   const int16_t *bp16, const gk_qepilogue *ep_b, uint8_t *ap8, int32_t *sa,
                   int16_t *ap16, float *mult_buf, float *c, long ldc, int threads);

#endif
