/* Exact 8-bit integer GEMM (QLinearMatMul, MatMulInteger, and the GEMM of the int8 convolutions):
 * C[M,N] = requantise(sum_k (A[i,k] - za[i]) * (B[k,j] - zb[j]) + bias), accumulated in int32 with
 * two's-complement wrap, as the reference (refimpl/ops/_quant.py) defines it.
 *
 * Operands are packed as zero-point-shifted int16 pairs: every value of a u8 or s8 operand minus
 * its zero point lies in [-255, 255], so an int16 product pair sum is at most 2 * 255 * 255 =
 * 130050 and _mm256_madd_epi16 / vpdpwssd are exact (unlike maddubs, which saturates int16 pair
 * sums). Zero points of either operand (per row of A, per column of B) cost nothing at run time,
 * and a conv's padding packs as 0, i.e. the input zero point.
 *
 * Packed A: ceil(M/GK_QMR) panels of GK_QMR rows, each K2 = ceil(K/2) pairs (pair-major: the
 * GK_QMR rows' int32 words for pair 0, then pair 1, ...); packed B: ceil(N/GK_QNR) panels of
 * GK_QNR columns, each K2 pairs (pair-major). Pair p of a row/column is (v[2p], v[2p+1]), two
 * adjacent int16s; rows/columns past M/N and the odd K's last half are 0. The layout is the same
 * at every SIMD level (a packed weight never needs repacking when the level changes).
 *
 * The AVX-512 level's kernel uses vpdpwssd (AVX512_VNNI) when the CPU has it (gk_cpu_has_vnni),
 * else the AVX2 kernel compiled at that level. */
#ifndef GK_QGEMM_H
#define GK_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#define GK_QMR 6  /* packed A panel height */
#define GK_QNR 16 /* packed B panel width */

/* element types of operands (U8, S8) and outputs (all) */
enum { GK_Q_U8 = 0, GK_Q_S8 = 1, GK_Q_I32 = 2, GK_Q_F32 = 3 };

/* What happens to each int32 accumulator acc(i, j) (bias already added with wrap):
 *   out_type GK_Q_I32: C = acc + bias (int32, wraps)
 *   out_type GK_Q_F32: C = float(acc + bias) * mult(i, j) (float32) [+ fbias(j), see below]
 *   else: v = rint(float(acc + bias) * mult(i, j)) (float32, half to even), t = v + zp (float32),
 *         NaN -> 0, t clipped to [lo, hi], converted to out_type.
 * mult(i, j) = mult[i * mult_rs + j * mult_cs] (strides 0 for a scalar); bias the same way (NULL:
 * none). lo/hi are the output type's range.
 * TFLite's fixed point instead (fx_mult != NULL, out_type U8/S8; mult unused): C = clamp(
 * MultiplyByQuantizedMultiplier(acc + bias, fx_mult(i, j), fx_shift(i, j)) + fx_zp, fx_lo, fx_hi)
 * in integers, as refimpl/ops/_tflite_fixed_point.py `output_stage` (double rounding; int64
 * intermediates; fx_shift <= 30); fx_mult/fx_shift indexed with fx_rs / fx_cs. */
typedef struct {
    const int32_t *bias;
    long bias_rs, bias_cs;
    const float *mult;
    long mult_rs, mult_cs;
    float zp, lo, hi;
    int out_type;
    const int32_t *fx_mult, *fx_shift;
    long fx_rs, fx_cs;
    int32_t fx_zp, fx_lo, fx_hi;
    /* out_type GK_Q_F32 only: a float32 bias added after the multiply, rounded on its own (never
     * an FMA): C = float(acc + bias) * mult(i, j) + fbias[j * fbias_cs] (NULL: none), as
     * MatMulIntegerToFloat / DynamicQuantizeMatMul and the Cast -> Mul -> Add they replace */
    const float *fbias;
    long fbias_cs;
    /* nonzero: every mult is finite (no NaN, no infinity; the wrapper checks), so the byte
     * outputs may take the integer rounding path (qgemm_kernels.inc qepi8r), which gives the
     * same bytes */
    int mult_finite;
} gk_qepilogue;

size_t gk_qpacked_a_size(long m, long k); /* int16 elements */
size_t gk_qpacked_b_size(long k, long n); /* int16 elements */
/* A (M x K, element type GK_Q_U8/S8, element strides) minus za[i * za_s] packed into out. */
void gk_qpack_a(long m, long k, const void *a, int type, long s_m, long s_k, const int32_t *za,
                long za_s, int16_t *out, int threads);
/* DynamicQuantizeLinear's rows packed as the left operand in one pass: A[i, l] = saturate_u8(
 * rint(x[i * ldx + l] / scale) + zp) (qelementwise.h's quantize, float32 division) minus zp. */
void gk_qpack_a_quantize(long m, long k, const float *x, long ldx, float scale, int32_t zp,
                         int16_t *out, int threads);
/* B (K x N) minus zb[j * zb_s] packed into out. */
void gk_qpack_b(long k, long n, const void *b, int type, long s_k, long s_n, const int32_t *zb,
                long zb_s, int16_t *out, int threads);
/* C[M,N] (element type ep->out_type, row stride ldc elements) from packed A and B. */
void gk_qgemm_packed(long m, long n, long k, const int16_t *ap, const int16_t *bp, void *c,
                     long ldc, const gk_qepilogue *ep, int threads);
/* the same with row offset i0 / column offset j0 of the epilogue's mult/bias indices */
void gk_qgemm_packed_at(long m, long n, long k, const int16_t *ap, const int16_t *bp, void *c,
                        long ldc, const gk_qepilogue *ep, long i0, long j0, int threads);
/* count products at once (one parallel region): product b reads A at ap + b * as, B at bp + b * bs
 * (int16s) and writes C at c + b * cs elements */
void gk_qgemm_packed_batch(long count, long m, long n, long k, const int16_t *ap, size_t as,
                           const int16_t *bp, size_t bs, void *c, size_t cs, long ldc,
                           const gk_qepilogue *ep, long i0, long j0, int threads);
int gk_cpu_has_vnni(void);

/* ---- per-level kernels (qgemm_kernels.inc) -------------------------------------------------- */
typedef struct {
    /* acc[GK_QMR x GK_QNR] (row-major) = packed A panel x packed B panel over k2 pairs */
    void (*tile)(long k2, const int16_t *ap, const int16_t *bp, int32_t *acc);
    /* the same, AVX512_VNNI (vpdpwssd); NULL below the AVX-512 level */
    void (*tile_vnni)(long k2, const int16_t *ap, const int16_t *bp, int32_t *acc);
    /* C[i, j] = epilogue(acc[i * lda + j]) for i < rows, j < cols; (i0, j0) index mult/bias */
    void (*epilogue)(const int32_t *acc, long lda, long rows, long cols, const gk_qepilogue *ep,
                     long i0, long j0, void *c, long ldc);
    /* pair kp (of k2) of every packed-B panel from two byte rows of n values (element type
     * GK_Q_U8/S8): (r0[j] - z, r1[j] - z) as int16; columns past n are 0 */
    void (*pack_b_pair)(const uint8_t *r0, const uint8_t *r1, long n, int type, int32_t z,
                        long kp, long k2, int16_t *out);
    /* one packed-A panel: lines l < `lines` from src + l * s_l (k contiguous bytes, type) minus
     * z[l * z_s] (z NULL: 0); lines past `lines` are 0 */
    void (*pack_a_panel)(const uint8_t *src, long lines, long s_l, long k, int type,
                         const int32_t *z, long z_s, int16_t *out);
    /* tile + epilogue in one, for a full tile, a byte output, the float requantisation and
     * mult/bias column strides 0 or 1: C[i + r, j + c] (row stride ldc bytes); NULL: none */
    void (*tile_q8)(long k2, const int16_t *ap, const int16_t *bp, const gk_qepilogue *ep, long i,
                    long j, uint8_t *c, long ldc);
    /* tile for the first r < GK_QMR rows of a panel only (an edge of M, a one-row product:
     * tile_rows[r] writes acc rows < r); tile_rows[0] and every entry below AVX2: NULL */
    void (*tile_rows[GK_QMR])(long k2, const int16_t *ap, const int16_t *bp, int32_t *acc);
} gk_qgemm_kernels;

#endif
