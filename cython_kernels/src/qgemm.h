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

/* ---- The 8-bit GEMM: bytes times bytes, int32 sums (AMX-INT8 tiles, AVX512_VNNI vpdpbusd) ----
 * Operands are stored as bytes, one u8 and the other s8 (the VNNI instruction multiplies u8 by
 * s8; AMX takes either): a packer stores an operand as `to`, flipping the top bit (xor 0x80,
 * i.e. value + 128 for s8 -> u8, - 128 for u8 -> s8) where `to` differs from its type. With
 * stored values A', B' and zero points za', zb' in the stored domain (za + 128 or za - 128
 * where flipped),
 *   C = sum_k (A' - za')(B' - zb') = D - za'_i sB'_j - zb'_j sA'_i + K za'_i zb'_j  (mod 2^32),
 * D = sum_k A' B' (no saturation: VPDPBUSD and TDPB*D add 4 exact products into int32 with
 * wrap), sA' / sB' the row / column sums of the stored operands (needed only where the other
 * operand's zero point is not 0). The usual models (s8 weights with zero point 0, u8
 * activations) need no sums at all but one per-row or per-column term, folded into the bias.
 *
 * Packed left operand (A, M x K): ceil(M / 16) panels of 16 rows; K padded with 0 to Kp (16
 * where K <= 16, 32 where K <= 32, else a multiple of 64: gk_q8_kpad); with bw = min(Kp, 64), a
 * panel is Kp / bw blocks of 16 rows x bw bytes (row r at r * bw): an AMX A tile each. Packed
 * right operand (B, K x N): ceil(N / 16) panels of 16 columns, each Kp / 4 groups of 64 bytes
 * (column c's 4 values k = 4g..4g+3 at c * 4): bw / 4 groups are an AMX B tile (16 bw bytes,
 * as an A block), one group a VNNI vector. Rows / columns past M / N and k past K are 0. The
 * small Kp of K = 16 or 24 (MobileNet's 1x1 convolutions from 16 or 24 channels) keeps their B
 * operand (the packed activations) a quarter or half of a 64-padded one. */
#define GK_Q8_KB 64   /* K padded to a multiple of this (above 32) */
#define GK_Q8_PANEL 16 /* rows of an A panel, columns of a B panel */

long gk_q8_kpad(long k);
size_t gk_q8_packed_size(long lines, long k); /* bytes of either packed operand */
/* A (M x K, element type `type`, element strides) stored as `to` into out; sums (M int32s, NULL:
 * not computed) = the row sums of the stored values. */
void gk_q8_pack_a(long m, long k, const void *a, int type, long s_m, long s_k, int to,
                  int32_t *sums, uint8_t *out, int threads);
/* DynamicQuantizeLinear's rows (u8, as gk_qpack_a_quantize) stored as `to` into out; sums as
 * gk_q8_pack_a. */
void gk_q8_pack_a_quantize(long m, long k, const float *x, long ldx, float scale, int32_t zp,
                           int to, int32_t *sums, uint8_t *out, int threads);
/* B (K x N, element strides) stored as `to`; sums (N int32s or NULL) the column sums. */
void gk_q8_pack_b(long k, long n, const void *b, int type, long s_k, long s_n, int to,
                  int32_t *sums, uint8_t *out, int threads);
/* zero points (stored domain) and sums of the two operands: za[i * za_s] (NULL: 0), sa the row
 * sums of stored A; zb[j * zb_s], sb the column sums of stored B */
typedef struct {
    const int32_t *za, *sa, *zb, *sb;
    long za_s, zb_s;
} gk_q8_zero;
/* C[M,N] (ep->out_type, row stride ldc elements) = epilogue(sum_k (A' - za')(B' - zb')) from the
 * packed operands (stored types ta != tb); (i0, j0) offset the epilogue's indices. Returns 0
 * (computing nothing) if the types are equal, a needed sum is missing, or memory ran out. */
int gk_q8_gemm(long m, long n, long k, const uint8_t *ap, int ta, const uint8_t *bp, int tb,
               const gk_q8_zero *z, void *c, long ldc, const gk_qepilogue *ep, long i0, long j0,
               int threads);
/* Whether gk_q8_gemm_pre would run its producer piece by piece in the one pool call of the
 * product (gk_qsplit_mode >= 2, more than one thread, the product large enough to split, j0 0,
 * A's zero point 0 and B's one value: no term needs B's sums before the products). */
int gk_q8_gemm_fusable(long m, long n, long k, const gk_q8_zero *z, long j0, int threads);
/* gk_q8_gemm where B is made while the product runs: pre(pre_ctx, p0, p1, seat) stores B's panel
 * pairs [p0, p1) (columns [32 p0, 32 p1)) and runs before the products that read them, on the
 * same thread, in the same pool call where gk_q8_gemm_fusable (else over all of B first, on the
 * calling thread as seat 0). pre NULL: gk_q8_gemm. Not run where gk_q8_gemm returns 0 at once
 * (unequal types aside: a missing sum, no memory) or m or n is 0. */
int gk_q8_gemm_pre(long m, long n, long k, const uint8_t *ap, int ta, const uint8_t *bp, int tb,
                   const gk_q8_zero *z, void *c, long ldc, const gk_qepilogue *ep, long i0,
                   long j0, int threads, void (*pre)(void *, long, long, int), void *pre_ctx);
/* The core gk_q8_gemm runs: 2 AMX, 1 AVX512_VNNI, 0 portable C; gk_q8_set_core(limit) caps it
 * (tests, A/B runs; -1: no cap) and returns the core now in force. */
int gk_q8_core(void);
int gk_q8_set_core(int limit);

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
    /* the 8-bit GEMM's block (see above): acc[32 x 32] (row stride 32) = ma (1, 2) A panels
     * (a, a + a_ps bytes) x nb (1, 2) B panels (b, b + b_ps) over kb blocks of bw (16, 32, 64) k;
     * b_u8: B is the u8 operand (A s8), else A is. VNNI (vpdpbusd) and AMX (tiles configured by
     * q8_amx_begin(bw) on this thread); NULL below the AVX-512 level */
    void (*q8_vnni)(long kb, long bw, const uint8_t *a, long a_ps, int ma, const uint8_t *b,
                    long b_ps, int nb, int b_u8, int32_t *acc);
    /* the block's epilogue 16 outputs at a time (only where VNNI exists); returns 0 where it
     * does not apply (then `epilogue` runs) */
    int (*q8_epilogue)(const int32_t *acc, long rows, long cols, const gk_qepilogue *ep, long i0,
                       long j0, void *c, long ldc);
    void (*q8_amx)(long kb, long bw, const uint8_t *a, long a_ps, int ma, const uint8_t *b,
                   long b_ps, int nb, int b_u8, int32_t *acc);
    void (*q8_amx_begin)(long bw); /* LDTILECFG: A tiles of bw-byte rows, B tiles of bw / 4 rows */
    void (*q8_amx_end)(void);   /* TILERELEASE */
} gk_qgemm_kernels;

#endif
