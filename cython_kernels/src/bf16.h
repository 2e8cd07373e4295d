/* BF16 GEMM with fp32 accumulation, as AVX512_BF16's vdpbf16ps computes it (bf16.c drives it,
 * bf16_kernels.inc holds the per-level register kernels).
 *
 * Arithmetic (Intel SDM, VDPBF16PS): operands are rounded from float32 to bfloat16 when they are
 * packed (round to nearest even; a result below bf16's smallest normal 2^-126 becomes a signed
 * zero, as the instruction reads denormal inputs as zero). Each output element is one float32
 * accumulator, starting at +0, over the K pairs (2p, 2p+1) in order; per pair
 *     acc = ftz(fma(a[2p+1], b[2p+1], acc));  acc = ftz(fma(a[2p], b[2p], acc))
 * (the odd element first; an odd K's last pair has a zero odd element), each a fused multiply-add
 * rounded to nearest even, ftz(r) = a signed zero where |r| < 2^-126 (output denormals flushed).
 * Then the float32 GEMM epilogue (gemm.h: biases, residual, clip, activation) on the result.
 * conformance/bf16_reference.py computes the same in numpy; the tests compare bit for bit.
 *
 * Implementations (bf16.c chooses; GOSSAMER_BF16 / gk_bf16_set_impl pick the family):
 *   native: AMX's tdpbf16ps (levels/amxbf16.c) where gk_amx_bf16() says yes, else AVX512_BF16's
 *     vdpbf16ps (levels/avx512bf16.c); both only where the CPU has AVX512_BF16;
 *   emulated: the vdpbf16ps bits without the instruction (AVX2: two FMAs and a flush per pair;
 *     generic: the same in double, exact by the double-rounding bound 53 >= 2 * 24 + 2), a testing
 *     aid, slower than the float32 GEMM.
 * vdpbf16ps and the emulation give the bits above. tdpbf16ps does not: it reads a product that is
 * a float32 denormal as zero and sums the products of a 16-pair block before it rounds into the
 * accumulator (docs/bf16.md, "AMX"); its results are within the same error bound, not bit-equal.
 *
 * Packed layouts (uint32 per bf16 pair: element 2p in the low half, 2p+1 in the high half; zero
 * past K, past the matrix and in the padding). Pairs are padded to Pp = gk_bf16_pairs(k), a
 * multiple of GK_BF16_KB = 16 (one AMX tile row: 32 bf16):
 *   A: ceil(M/GK_BF16_MR) panels of Pp x GK_BF16_MR pairs, in blocks of GK_BF16_KB pairs: block
 *      kb holds GK_BF16_MR rows of 16 pairs (row-major: an AMX A tile, 64-byte rows)
 *   B: ceil(N/GK_BF16_NR) panels of Pp x GK_BF16_NR pairs, pair-major (16 rows of it: an AMX B
 *      tile, 64-byte rows) */
#ifndef GK_BF16_H
#define GK_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "gemm.h"

#define GK_BF16_MR 16 /* rows of a packed A panel: an AMX tile's 16 rows */
#define GK_BF16_NR 16 /* columns of a packed B panel: one zmm of pairs */
#define GK_BF16_KB 16 /* pairs per block of a packed A panel; the pair padding */

/* pairs per packed panel for inner length k (k rounded up to pairs, then to GK_BF16_KB pairs) */
static inline long gk_bf16_pairs(long k) {
    long p = k > 0 ? (k + 1) / 2 : 1;
    return (p + GK_BF16_KB - 1) / GK_BF16_KB * GK_BF16_KB;
}

/* pair p of row r of a packed A panel */
#define GK_BF16_A_AT(panel, p, r)                                                              \
    ((panel)[((p) / GK_BF16_KB) * (GK_BF16_KB * GK_BF16_MR) + (r) * GK_BF16_KB + (p) % GK_BF16_KB])

enum { GK_BF16_NONE = 0, GK_BF16_NATIVE = 1, GK_BF16_EMULATED = 2 };

/* whether this CPU has AVX512_BF16 (with AVX-512F) */
int gk_bf16_cpu_native(void);
/* the pair step used from now on: GK_BF16_NATIVE (refused, returning GK_BF16_NONE, where the CPU
 * lacks it or the extension was built without it), GK_BF16_EMULATED (the emulation of the SIMD
 * level in force) or GK_BF16_NONE; returns the implementation now set */
int gk_bf16_set_impl(int impl);
int gk_bf16_impl(void);
/* whether the native implementation now runs on AMX tiles (tdpbf16ps): native set and
 * gk_amx_bf16() (amx.h: GOSSAMER_AMX=off or gk_amx_set_enabled(0) turn it off) */
int gk_bf16_amx(void);
/* whether this build has the AMX kernels (a compiler without AMX intrinsics leaves them out) */
int gk_bf16_amx_built(void);

/* float32 -> bfloat16 bits: round to nearest even, denormal results to signed zero, NaN quiet */
uint16_t gk_bf16_round(float x);

/* sizes in uint32 (pairs) */
size_t gk_bf16_packed_a_size(long m, long k);
size_t gk_bf16_packed_b_size(long k, long n);
void gk_bf16_pack_a(long m, long k, const float *a, long s_m, long s_k, uint32_t *out,
                    int threads);
void gk_bf16_pack_b(long k, long n, const float *b, long s_k, long s_n, uint32_t *out,
                    int threads);
/* B packed for the float32 GEMM (gemm.h: 16-column panels, k-major) into bf16 panels */
void gk_bf16_pack_b_from_packed(long k, long n, const float *bp, uint32_t *out, int threads);

/* B packed (bf16 panels) as the im2col matrix of one image group x (c, h, w), without the float32
 * panels in between: B[(ci*kh + ky)*kw + kx, oy*ow + ox] = x[ci, oy*sh - ph + ky*dh,
 * ox*sw - pw + kx*dw] (0 outside), rounded. 0, or -1 (nothing written) for more than
 * GK_BF16_CONV_TAPS taps (kh * kw) */
#define GK_BF16_CONV_TAPS 121
int gk_bf16_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                        uint32_t *out, int threads);

/* C[M,N] = epilogue(A @ B), both packed; nothing is done while gk_bf16_impl() is NONE */
void gk_bf16_gemm_packed(long m, long n, long k, const uint32_t *ap, const uint32_t *bp, float *c,
                         long ldc, const gk_epilogue *ep, int threads);
/* the same with A given by strides (rounded and packed by this call, in the pool); 0, or -1 when
 * the packed A cannot be allocated, -2 while gk_bf16_impl() is NONE (C is then not written) */
int gk_bf16_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const uint32_t *bp,
                 float *c, long ldc, const gk_epilogue *ep, int threads);

/* ---- direct conv on AMX tiles (one group; no im2col) -----------------------------------------
 * The image is rounded once into pair planes: pair q of channels (2q, 2q+1), plane pairs apart,
 * each plane made of sh * sw phase planes of hq x wq (hq = oh + (kh-1) dh / sh, wq = ow + (kw-1)
 * dw / sw, integer division), sq pairs apart: phase (ry, rx)'s [yy][xx] is the padded image at
 * (sh yy + ry, sw xx + rx) (zero in the padding), channels padded with zero pairs to a multiple
 * of 32. An output pixel n = oy * wq + ox of the phases' width reads, at tap (ky, kx), phase
 * ((ky dh) % sh, (kx dw) % sw) at n + (ky dh / sh) wq + kx dw / sw: 16 consecutive pixels of 16
 * pairs are one AMX B tile loaded with the plane as its row stride (stride 1: one phase, the
 * padded image itself). The weights are W'[m, (ky * kw + kx) * Cp + ci] (Cp: c rounded up to
 * 32, zero past c) packed by gk_bf16_pack_a. The output columns past ow are computed and
 * dropped. The sums run over (tap, channel) instead of im2col's (channel, tap): AMX's arithmetic
 * (any order within amx_error_bound), not vdpbf16ps's bits, so only the AMX implementation has
 * it. */
#define GK_BF16_CONV_STRIDE 4 /* the largest stride of the direct conv */
static inline long gk_bf16_conv_cpad(long c) {
    return (c + 2 * GK_BF16_KB - 1) / (2 * GK_BF16_KB) * (2 * GK_BF16_KB);
}
/* pairs of the pair planes (the direct conv's scratch); 0 for a geometry it does not take */
size_t gk_bf16_conv_planes_size(long c, long kh, long kw, long sh, long sw, long dh, long dw,
                                long oh, long ow);
/* y (M x oh*ow, row stride oh*ow) = epilogue(conv(x (c, h, w), W)) on AMX tiles; planes: room
 * for gk_bf16_conv_planes_size pairs (written). 0; -2 (nothing written) where the AMX tiles are
 * not in use (gk_bf16_amx()); -1 out of memory; -3 a negative pad or size, a stride over
 * GK_BF16_CONV_STRIDE or more than GK_BF16_CONV_TAPS taps */
int gk_bf16_conv_direct(const float *x, long c, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow, long m,
                        const uint32_t *wpk, uint32_t *planes, float *y, const gk_epilogue *ep,
                        int threads);

/* the same for a stem with its kernel columns folded into channels: the direct conv of x' (c kw
 * channels, h x ow) with a kh x 1 kernel, rows as given (sh, dh, ph), where x'[ci kw + kx, y, xo]
 * is x's (ci, y, sw xo + kx dw - pw), zero outside x; wpk: W'[m, ky * Cp + ci kw + kx] (Cp =
 * gk_bf16_conv_cpad(c kw)), planes: gk_bf16_conv_planes_size(c kw, kh, 1, sh, 1, dh, 1, oh, ow)
 * pairs. The fold is gathered while the planes are rounded: no folded float32 copy of x */
int gk_bf16_conv_direct_fold(const float *x, long c, long h, long w, long kh, long kw, long sh,
                             long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                             long m, const uint32_t *wpk, uint32_t *planes, float *y,
                             const gk_epilogue *ep, int threads);

/* bf16 hand-off between two direct convs: the producer's output written as the consumer's pair
 * planes, the consumer reading them as they are (no rounding pass, half the bytes of float32).
 * The form ("stride-1 pair planes"): for output channels c (a multiple of 32), c / 2 planes of
 * sq = gk_bf16_conv_planes_size(c, kh, kw, 1, 1, 1, 1, oh', ow') / (c / 2) pairs (the consumer's
 * kh x kw, stride 1, dilation 1, output oh' x ow': hq = oh' + kh - 1 rows, wq = ow' + kw - 1
 * columns); plane q's [yy][xx] is the pair (channel 2q, 2q + 1) of the image padded by top rows
 * and left columns at (yy, xx), zero in the padding and past hq * wq. The rounding is
 * gk_bf16_round's, so the planes are the bits the consumer's own rounding pass would write.
 *
 * gk_bf16_conv_direct_ex: gk_bf16_conv_direct, but
 *   x NULL: planes already hold the input's pair planes (a hand-off form of this conv's geometry:
 *     stride 1, dilation 1; x's c, h, w still give its shape);
 *   yp non-NULL: the output goes to yp in the form above (yp_hq x yp_wq, padded by yp_top rows
 *     and yp_left columns: yp_hq >= yp_top + oh, yp_wq >= yp_left + ow; m a multiple of 32; the
 *     epilogue without an activation), y unused; the padding and the tail are zeroed here.
 * Returns as gk_bf16_conv_direct; -3 also for a form it does not take. */
int gk_bf16_conv_direct_ex(const float *x, long c, long h, long w, long kh, long kw, long sh,
                           long sw, long dh, long dw, long ph, long pw, long oh, long ow, long m,
                           const uint32_t *wpk, uint32_t *planes, float *y, uint32_t *yp,
                           long yp_top, long yp_left, long yp_hq, long yp_wq,
                           const gk_epilogue *ep, int threads);
/* pairs per plane of the form above with hq x wq (the consumer's) */
long gk_bf16_conv_form_plane(long hq, long wq);

/* whether the direct conv's tiles write y with the epilogue themselves (1, the default; the
 * same bits) or go through a tile buffer, a copy and the epilogue's own pass (0: benchmarks and
 * the tests' comparison); on < 0 only asks. Returns the setting before the call */
int gk_bf16_conv_set_fused(int on);
/* whether those tiles write each tile's output while the next tile's products run (1, the
 * default; the same bits) or after each tile (0: benchmarks and the tests' comparison); on < 0
 * only asks. Returns the setting before the call */
int gk_bf16_conv_set_overlap(int on);
/* whether the AMX GEMM's tiles apply a Gelu epilogue in registers on the way to C (1, the
 * default; the same bits: the float32 epilogue's gelu operations on 16 lanes) or over each
 * stored tile with the float32 epilogue's pass (0: benchmarks and the tests' comparison); on < 0
 * only asks. Returns the setting before the call */
int gk_bf16_gemm_set_gelu_tile(int on);

/* ---- per-level kernels (bf16_kernels.inc) ---------------------------------------------------- */

/* one direct conv (above): the packed weights (pairs: their Pp), the planes, taps' offsets */
typedef struct {
    long pairs, cpb, taps, plane; /* cpb: blocks of GK_BF16_KB pairs per tap */
    const long *offs;
    const uint32_t *ap, *x2;
    /* y non-NULL: conv_tile writes the output itself (c and ldc unused): output row i's pixel
     * (oy, ox) of a padded-width column n = oy * wq + ox with ox < ow goes to y[i * hw + oy * ow
     * + ox] with ep's sums and clip applied (ep->act must be GK_ACT_NONE); columns past ow are
     * dropped. NULL: raw accumulators to c */
    float *y;
    long ow, wq, hw;
    const gk_epilogue *ep;
    /* yp non-NULL (and y unused): output rows 2q, 2q + 1 go to yp's plane q (yp_plane pairs
     * apart) as bf16 pairs, pixel (oy, ox) at yp_off + oy * yp_wq + ox: the hand-off form */
    uint32_t *yp;
    long yp_plane, yp_wq, yp_off;
} gk_bf16_conv_args;

typedef struct {
    long m, n, k;
    const uint32_t *ap, *bp;
    float *c;
    long ldc;
    const gk_epilogue *ep;
    /* 1: a tile_epilogue kernel applies ep's GK_ACT_GELU in registers with the sums (the AMX
     * kernel; gk_bf16_gemm_set_gelu_tile), 0: over the stored tile by the float32 epilogue */
    int gelu_in_tile;
} gk_bf16_args;

typedef struct {
    /* C[i0:i0+rows, j0:j0+cols] = A @ B (raw float32 accumulators, or with g->ep applied where
     * tile_epilogue; rows <= row_tile,
     * cols <= 2 * GK_BF16_NR; i0 a multiple of row_tile, j0 of GK_BF16_NR) */
    void (*tile)(const gk_bf16_args *g, long i0, long rows, long j0, long cols);
    long row_tile; /* GK_BF16_MR, or a multiple of it */
    int tile_epilogue; /* 1: tile applies g->ep itself (the AMX kernel), 0: raw accumulators */
    /* called by each thread before its first tile of a product and after its last (NULL: none):
     * the AMX kernels load their tile configuration and release the tiles */
    void (*begin)(void);
    void (*end)(void);
    /* the packing's rounding (the SIMD levels' tables only; bf16.c takes them from the level in
     * force): dst[c] = pair(lo[c], hi[c]) for c < n (hi NULL: zero odd elements), and
     * dst[q] = pair(x[2q], x[2q+1]) for q < pairs */
    void (*pair_rows)(const float *lo, const float *hi, long n, uint32_t *dst);
    void (*pair_adjacent)(const float *x, long pairs, uint32_t *dst);
    /* the direct conv's tile (AMX only; NULL elsewhere): c[r * ldc + j] for r < rows <=
     * row_tile, j < cols <= 2 * GK_BF16_NR = output rows i0 + r, padded-width pixels n0 + j
     * (or, where g->y is set, those pixels' valid ones straight to y with the epilogue) */
    void (*conv_tile)(const gk_bf16_conv_args *g, long i0, long rows, long n0, long cols,
                      float *c, long ldc);
    /* conv_tile's tiles of output rows i0 .. i0 + rows (rows <= row_tile) over padded-width
     * pixels [n_lo, n_hi), written to g->y (set) with the epilogue, each tile's output stored
     * while the next one multiplies (the same bits as conv_tile's; AMX only, NULL elsewhere) */
    void (*conv_run)(const gk_bf16_conv_args *g, long i0, long rows, long n_lo, long n_hi);
} gk_bf16_kernels;

extern const gk_bf16_kernels gk_bf16_kernels_generic, gk_bf16_kernels_avx2,
    gk_bf16_kernels_avx512, gk_bf16_kernels_avx512bf16, gk_bf16_kernels_amxbf16;

#endif
