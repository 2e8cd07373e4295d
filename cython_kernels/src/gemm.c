/* Packed SGEMM with a fused epilogue: AVX-512F 12x32, AVX2/FMA 6x16 or generic 6x16 micro-kernels
 * chosen at run time (see gk.h for the packed layouts and the epilogue).
 *
 * Packed A: 12-row panels (K x 12, k-major); packed B: 16-column panels (K x 16, k-major), whole K
 * contiguous so one packing serves any K blocking; constant operands (weights) are packed once at
 * prepare time. The AVX-512 kernel reads one A panel and two adjacent B panels (12 x 32 block,
 * 24 zmm accumulators, A broadcast from memory into the FMAs); the AVX2 and generic kernels read
 * one half of an A panel (6 rows) and one B panel.
 *
 * Threads: one OpenMP parallel region per call. C is split into one rectangular block per thread
 * (a grid pm x pn = threads, chosen to balance 12x32 tiles; the larger operand is the one split),
 * left operand packing happens inside the same region (each thread packs a share, then a barrier).
 * Inside a block: K in blocks of KC, M in blocks of MC rows, then 32-column B micro-panels (kept
 * in L1) against the 12-row A micro-panels of the M block (streamed from L2). Software prefetches
 * cover what the hardware prefetchers miss: the next A and B micro-panels, the C tile two
 * column panels ahead (written with one stream per row) and, while packing B, its rows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "simd.h"

/* K block and M block (rows) of the cache blocking: a 32-column B micro-panel of KC rows is 32 KiB
 * at KC 256 (L1 48 KiB on Zen 5), an A block MC x KC 144 KiB (L2 1 MiB). */
static long g_kc = 256, g_mc = 144;
/* prefetch distances: the C tile GK_PFC_PANELS 32-column panels ahead (AVX-512 kernel), the rows of
 * B GK_PFB_PANELS 16-column panels ahead while packing (measured on 1x1 convolutions of
 * MobileNetV2 with cold caches: 1.3-2x faster; no change when the operands are cached) */
#define GK_PFC_PANELS 2
#define GK_PFB_PANELS 4

void gk_gemm_tune(long kc, long mc, long *old) {
    old[0] = g_kc;
    old[1] = g_mc;
    if (kc > 0) g_kc = kc;
    if (mc > 0) g_mc = (mc + GK_MR - 1) / GK_MR * GK_MR;
}

size_t gk_packed_a_size(long m, long k) {
    return (size_t)((m + GK_MR - 1) / GK_MR) * GK_MR * (size_t)(k > 0 ? k : 1);
}

size_t gk_packed_b_size(long k, long n) {
    return (size_t)((n + GK_NR - 1) / GK_NR) * GK_NR * (size_t)(k > 0 ? k : 1);
}

/* ---- packing ------------------------------------------------------------------------------- */

static void pack_a_panels(long m, long k, const float *a, long s_m, long s_k, float *out, long p0,
                          long p1) {
    for (long p = p0; p < p1; p++) {
        float *dst = out + p * k * GK_MR;
        long rows = GK_MIN(GK_MR, m - p * GK_MR);
        const float *src = a + p * GK_MR * s_m;
        if (rows < GK_MR) memset(dst, 0, (size_t)(k * GK_MR) * sizeof(float));
        if (s_k == 1) {
            /* row by row: reads stay sequential */
            for (long r = 0; r < rows; r++) {
                const float *s = src + r * s_m;
                for (long kk = 0; kk < k; kk++) dst[kk * GK_MR + r] = s[kk];
            }
        } else {
            for (long kk = 0; kk < k; kk++)
                for (long r = 0; r < rows; r++) dst[kk * GK_MR + r] = src[r * s_m + kk * s_k];
        }
    }
}

static void pack_b_panels(long k, long n, const float *b, long s_k, long s_n, float *out, long p0,
                          long p1) {
    for (long p = p0; p < p1; p++) {
        float *dst = out + p * k * GK_NR;
        long cols = GK_MIN(GK_NR, n - p * GK_NR);
        const float *src = b + p * GK_NR * s_n;
        for (long kk = 0; kk < k; kk++) {
            const float *row = src + kk * s_k;
            float *d = dst + kk * GK_NR;
            if (s_n == 1) {
                /* one read stream per row of B, more than the hardware prefetchers follow: fetch
                 * the same row a few panels on */
                if ((p + GK_PFB_PANELS) * GK_NR < n)
                    __builtin_prefetch(row + GK_PFB_PANELS * GK_NR, 0, 3);
                memcpy(d, row, (size_t)cols * sizeof(float));
            } else {
                for (long j = 0; j < cols; j++) d[j] = row[j * s_n];
            }
            for (long j = cols; j < GK_NR; j++) d[j] = 0.0f;
        }
    }
}

/* panel rows (k x panels) from which packing is split between threads: 4096 rows of 16 floats are
 * 256 KiB, about 15 us of copying (a fork costs a few us) */
#define GK_PACK_PAR 4096

void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads) {
    long panels = (m + GK_MR - 1) / GK_MR;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > GK_PACK_PAR)
    for (long p = 0; p < panels; p++) pack_a_panels(m, k, a, s_m, s_k, out, p, p + 1);
}

void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads) {
    long panels = (n + GK_NR - 1) / GK_NR;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > GK_PACK_PAR)
    for (long p = 0; p < panels; p++) pack_b_panels(k, n, b, s_k, s_n, out, p, p + 1);
}

/* Per-thread reusable buffers (never freed; they grow to the largest size used), so packing does
 * not allocate and page-fault on every call. */
static __thread float *tl_buf[2];
static __thread size_t tl_cap[2];

static float *tls_get(int slot, size_t n) {
    if (n > tl_cap[slot]) {
        free(tl_buf[slot]);
        size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
        tl_buf[slot] = (float *)aligned_alloc(64, bytes);
        tl_cap[slot] = tl_buf[slot] ? n : 0;
    }
    return tl_buf[slot];
}

/* ---- scalar activations, branch-free so the epilogue loops vectorise ------------------------ */

static inline float epi_sigmoid(float x) { return 1.0f / (1.0f + gk_expf(-x)); }

static inline float epi_hardsigmoid(float x, float alpha, float beta) {
    float v = alpha * x + beta;
    v = v < 0.0f ? 0.0f : v;
    return v > 1.0f ? 1.0f : v; /* NaN stays NaN */
}

/* x/2 (1 + erf(x/sqrt 2)). erf: odd polynomial for |a| <= 0.9277, else erf(|a|) = 1 - exp(q(|a|))
 * (both about 1 ulp); for x < 0 the factor 1 + erf(a) = exp(q) is used directly, so the result
 * keeps its relative accuracy in the negative tail (no cancellation). */
static inline float epi_gelu(float x) {
    float a = x * 0.70710678118654752f;
    float t = fabsf(a), s = a * a;
    float p = -5.96761703e-4f;
    p = p * s + 4.99119423e-3f;
    p = p * s - 2.67681349e-2f;
    p = p * s + 1.12819925e-1f;
    p = p * s - 3.76125336e-1f;
    p = p * s + 1.28379166e-1f;
    float erf_small = p * a + a;
    float q = -1.72853470e-5f * t + 3.83197126e-4f;
    float u = -3.88396438e-3f * t + 2.42546219e-2f;
    q = q * s + u;
    q = q * t - 1.06777877e-1f;
    q = q * t - 6.34846687e-1f;
    q = q * t - 1.28717512e-1f;
    q = q * t - t;
    float ec = gk_expf(q); /* erfc(|a|) */
    float onep = t > 0.927734375f ? (x < 0.0f ? ec : 2.0f - ec) : 1.0f + erf_small;
    return 0.5f * x * onep;
}

static inline float epi_tanh(float x) {
    float t = fabsf(x), s = x * x;
    float e = gk_expf(-2.0f * t);
    float big = (1.0f - e) / (1.0f + e);
    big = x < 0.0f ? -big : big;
    float p = 62.0f / 2835.0f;
    p = p * s - 17.0f / 315.0f;
    p = p * s + 2.0f / 15.0f;
    p = p * s - 1.0f / 3.0f;
    float small = x + x * s * p;
    return t < 0.3f ? small : big; /* NaN: big is NaN */
}

/* ---- epilogue tile bodies, one per ISA ----------------------------------------------------- */

#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#define GK_SFX(name) name##_avx512
#include "gemm_epi.inc"
#undef GK_SFX
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define GK_SFX(name) name##_avx2
#include "gemm_epi.inc"
#undef GK_SFX
#pragma GCC pop_options
#endif
#define GK_SFX(name) name##_generic
#include "gemm_epi.inc"
#undef GK_SFX

typedef void (*epi_fn)(float *c, long ldc, long rows, long cols, const gk_epilogue *ep, long i0,
                       long j0, int add);

static epi_fn epi_for_level(void) {
#if GK_X86
    if (gk_simd_avx512) return epi_tile_avx512;
    if (gk_simd_avx2) return epi_tile_avx2;
#endif
    return epi_tile_generic;
}

/* ---- micro-kernels ------------------------------------------------------------------------- */

typedef struct {
    long m, n, k;
    const float *ap, *bp;
    float *c;
    long ldc;
    const gk_epilogue *ep;
} gemm_args;

#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

/* R x (16 W) block (R <= 12 rows, W 1 or 2 zmm columns): c = (load_c ? c : 0) + a @ b; when last,
 * biases, residual and clip in registers, then the other activations over the tile in memory.
 * Partial columns through the masks mk0/mk1 (packed B is zero past N, so lanes beyond are 0). */
static inline __attribute__((always_inline)) void k512(const int R, const int W, long kc,
                                                       const float *restrict a,
                                                       const float *restrict b0,
                                                       const float *restrict b1, float *c,
                                                       long ldc, __mmask16 mk0, __mmask16 mk1,
                                                       int load_c, int last, const gk_epilogue *ep,
                                                       long i, long j, long cols,
                                                       const float *pf, const float *pfb,
                                                       long pfb_n, float *pfc) {
    __m512 x0[GK_MR], x1[GK_MR];
    if (pfc) { /* a C tile further along the same rows, into L2 (when C is large its rows miss
                * every cache: one stream per row is more than the hardware prefetchers follow;
                * into L1 it would evict the B micro-panel); the residual tile there too */
        const float *pr = last && ep->residual
                              ? ep->residual + i * ep->ld_residual + j + (pfc - c)
                              : NULL;
#pragma GCC unroll 12
        for (int r = 0; r < GK_MR; r++) {
            if (r < R) {
                _mm_prefetch((const char *)(pfc + r * ldc), _MM_HINT_T1);
                if (W == 2) _mm_prefetch((const char *)(pfc + r * ldc + 16), _MM_HINT_T1);
                if (pr) {
                    _mm_prefetch((const char *)(pr + r * ep->ld_residual), _MM_HINT_T1);
                    if (W == 2)
                        _mm_prefetch((const char *)(pr + r * ep->ld_residual + 16), _MM_HINT_T1);
                }
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < GK_MR; r++) {
        x0[r] = _mm512_setzero_ps();
        x1[r] = _mm512_setzero_ps();
    }
#pragma GCC unroll 2
    for (long k = 0; k < kc; k++) {
        if (pf) _mm_prefetch((const char *)(pf + k * GK_MR), _MM_HINT_T0);
        if (k < pfb_n) _mm_prefetch((const char *)(pfb + k * GK_NR), _MM_HINT_T1);
        __m512 v0 = _mm512_loadu_ps(b0 + k * GK_NR);
        __m512 v1 = W == 2 ? _mm512_loadu_ps(b1 + k * GK_NR) : v0;
#pragma GCC unroll 12
        for (int r = 0; r < GK_MR; r++) {
            if (r < R) {
                __m512 av = _mm512_set1_ps(a[k * GK_MR + r]);
                x0[r] = _mm512_fmadd_ps(av, v0, x0[r]);
                if (W == 2) x1[r] = _mm512_fmadd_ps(av, v1, x1[r]);
            }
        }
    }
    __m512 bc0 = _mm512_setzero_ps(), bc1 = _mm512_setzero_ps();
    const float *bcol = last ? ep->bias_col : NULL, *brow = last ? ep->bias_row : NULL;
    const float *res = last ? ep->residual : NULL;
    int clip = last && ep->clip;
    if (bcol) {
        bc0 = _mm512_maskz_loadu_ps(mk0, bcol + j);
        if (W == 2) bc1 = _mm512_maskz_loadu_ps(mk1, bcol + j + 16);
    }
    __m512 vlo = _mm512_set1_ps(ep->lo), vhi = _mm512_set1_ps(ep->hi);
#pragma GCC unroll 12
    for (int r = 0; r < GK_MR; r++) {
        if (r < R) {
            float *cr = c + r * ldc;
            __m512 y0 = x0[r], y1 = x1[r];
            if (load_c) {
                y0 = _mm512_add_ps(y0, _mm512_maskz_loadu_ps(mk0, cr));
                if (W == 2) y1 = _mm512_add_ps(y1, _mm512_maskz_loadu_ps(mk1, cr + 16));
            }
            if (brow) {
                __m512 vb = _mm512_set1_ps(brow[i + r]);
                y0 = _mm512_add_ps(y0, vb);
                y1 = _mm512_add_ps(y1, vb);
            }
            if (bcol) {
                y0 = _mm512_add_ps(y0, bc0);
                y1 = _mm512_add_ps(y1, bc1);
            }
            if (res) {
                const float *rr = res + (i + r) * ep->ld_residual + j;
                y0 = _mm512_add_ps(y0, _mm512_maskz_loadu_ps(mk0, rr));
                if (W == 2) y1 = _mm512_add_ps(y1, _mm512_maskz_loadu_ps(mk1, rr + 16));
            }
            if (clip) { /* max/min return the second operand (y) when it is NaN */
                y0 = _mm512_min_ps(vhi, _mm512_max_ps(vlo, y0));
                y1 = _mm512_min_ps(vhi, _mm512_max_ps(vlo, y1));
            }
            _mm512_mask_storeu_ps(cr, mk0, y0);
            if (W == 2) _mm512_mask_storeu_ps(cr + 16, mk1, y1);
        }
    }
    if (last && ep->act) epi_tile_avx512(c, ldc, R, cols, ep, i, j, 0);
}

typedef void (*k512_fn)(long kc, const float *a, const float *b0, const float *b1, float *c,
                        long ldc, __mmask16 mk0, __mmask16 mk1, int load_c, int last,
                        const gk_epilogue *ep, long i, long j, long cols, const float *pf,
                        const float *pfb, long pfb_n, float *pfc);

#define GK_K512(R, W)                                                                         \
    static void k512_##R##_##W(long kc, const float *a, const float *b0, const float *b1,      \
                               float *c, long ldc, __mmask16 mk0, __mmask16 mk1, int load_c,   \
                               int last, const gk_epilogue *ep, long i, long j, long cols,     \
                               const float *pf, const float *pfb, long pfb_n, float *pfc) {    \
        k512(R, W, kc, a, b0, b1, c, ldc, mk0, mk1, load_c, last, ep, i, j, cols, pf, pfb,     \
             pfb_n, pfc);                                                                      \
    }
#define GK_K512_W(R) GK_K512(R, 1) GK_K512(R, 2)
GK_K512_W(1) GK_K512_W(2) GK_K512_W(3) GK_K512_W(4) GK_K512_W(5) GK_K512_W(6)
GK_K512_W(7) GK_K512_W(8) GK_K512_W(9) GK_K512_W(10) GK_K512_W(11) GK_K512_W(12)
#undef GK_K512_W
#undef GK_K512

static const k512_fn k512_tab[GK_MR + 1][2] = {
    {NULL, NULL},           {k512_1_1, k512_1_2},   {k512_2_1, k512_2_2},
    {k512_3_1, k512_3_2},   {k512_4_1, k512_4_2},   {k512_5_1, k512_5_2},
    {k512_6_1, k512_6_2},   {k512_7_1, k512_7_2},   {k512_8_1, k512_8_2},
    {k512_9_1, k512_9_2},   {k512_10_1, k512_10_2}, {k512_11_1, k512_11_2},
    {k512_12_1, k512_12_2},
};

static void block_avx512(const gemm_args *g, long m0, long m1, long n0, long n1) {
    long k = g->k, KC = g_kc, MC = g_mc;
    for (long k0 = 0;; k0 += KC) {
        long kc = GK_MAX(0L, GK_MIN(KC, k - k0));
        int load_c = k0 > 0, last = k0 + kc >= k;
        for (long mb = m0; mb < m1; mb += MC) {
            long mb1 = GK_MIN(m1, mb + MC);
            for (long j = n0; j < n1; j += 2 * GK_NR) {
                long cols = GK_MIN(2L * GK_NR, n1 - j);
                int w = cols > GK_NR ? 2 : 1;
                const float *b0 = g->bp + (j / GK_NR) * k * GK_NR + k0 * GK_NR;
                const float *b1 = w == 2 ? b0 + k * GK_NR : b0;
                __mmask16 mk0 = cols >= GK_NR ? 0xFFFF : (__mmask16)((1u << cols) - 1);
                __mmask16 mk1 = cols >= 2 * GK_NR ? 0xFFFF
                                : w == 2          ? (__mmask16)((1u << (cols - GK_NR)) - 1)
                                                  : 0;
                /* the next 32-column B micro-panel is fetched into L2 while this one computes,
                 * a slice per A tile: the first half of the tiles fetch its first panel, the
                 * rest its second (weights of large models come from memory) */
                long tiles = (mb1 - mb + GK_MR - 1) / GK_MR, half = (tiles + 1) / 2;
                int pfb_on = j + 2 * GK_NR < n1 && tiles >= 2;
                int two = j + 3 * GK_NR < n1;
                int pfc_on = j + (2 * GK_PFC_PANELS + 2) * GK_NR <= n1;
                for (long i = mb; i < mb1; i += GK_MR) {
                    long rows = GK_MIN((long)GK_MR, mb1 - i);
                    const float *a = g->ap + (i / GK_MR) * k * GK_MR + k0 * GK_MR;
                    const float *pfb = NULL;
                    long pfb_n = 0;
                    if (pfb_on) {
                        long t = (i - mb) / GK_MR, part = t < half || !two ? 0 : 1;
                        long np = part ? tiles - half : (two ? half : tiles), tp = part ? t - half : t;
                        if (tp < np) {
                            long r0 = kc * tp / np, r1 = kc * (tp + 1) / np;
                            pfb = b0 + (2 + part) * k * GK_NR + r0 * GK_NR;
                            pfb_n = r1 - r0;
                        }
                    }
                    /* the first sweep over the M block reads A from L3 or memory: fetch the next
                     * A micro-panel while this one computes */
                    const float *pf = j == n0 && i + GK_MR < mb1 ? a + k * GK_MR : NULL;
                    float *ct = g->c + i * g->ldc + j;
                    float *pfc = pfc_on ? ct + 2 * GK_PFC_PANELS * GK_NR : NULL;
                    k512_tab[rows][w - 1](kc, a, b0, b1, ct, g->ldc, mk0, mk1, load_c, last, g->ep,
                                          i, j, cols, pf, pfb, pfb_n, pfc);
                }
            }
        }
        if (last) break;
    }
}
#pragma GCC pop_options

/* 6 x 16 block: c = (load_c ? c : 0) + a @ b; a reads 6 rows of a 12-row A panel */
GK_TARGET_AVX2 static void micro_avx2(long kc, const float *restrict a, const float *restrict b,
                                      float *restrict c, long ldc, int load_c) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (long k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av;
        av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        a += GK_MR;
        b += GK_NR;
    }
#define GK_ROW(i, x0, x1)                                                             \
    do {                                                                              \
        float *ci = c + (i) * ldc;                                                    \
        if (load_c) { x0 = _mm256_add_ps(x0, _mm256_loadu_ps(ci));                     \
                      x1 = _mm256_add_ps(x1, _mm256_loadu_ps(ci + 8)); }               \
        _mm256_storeu_ps(ci, x0); _mm256_storeu_ps(ci + 8, x1);                       \
    } while (0)
    GK_ROW(0, c00, c01); GK_ROW(1, c10, c11); GK_ROW(2, c20, c21);
    GK_ROW(3, c30, c31); GK_ROW(4, c40, c41); GK_ROW(5, c50, c51);
#undef GK_ROW
}
#endif

static void micro_generic(long kc, const float *restrict a, const float *restrict b,
                          float *restrict c, long ldc, int load_c) {
    float acc[6][GK_NR];
    memset(acc, 0, sizeof acc);
    for (long k = 0; k < kc; k++) {
        for (int i = 0; i < 6; i++) {
            float av = a[i];
            for (int j = 0; j < GK_NR; j++) acc[i][j] += av * b[j];
        }
        a += GK_MR;
        b += GK_NR;
    }
    for (int i = 0; i < 6; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < GK_NR; j++) ci[j] = load_c ? ci[j] + acc[i][j] : acc[i][j];
    }
}

typedef void (*micro_fn)(long kc, const float *a, const float *b, float *c, long ldc, int load_c);

/* the 6x16 path (AVX2 or generic): C[m0:m1, n0:n1], epilogue per tile after the last K block */
static void block_6x16(const gemm_args *g, long m0, long m1, long n0, long n1) {
    micro_fn micro = micro_generic;
    epi_fn epi = epi_tile_generic;
#if GK_X86
    if (gk_simd_avx2) {
        micro = micro_avx2;
        epi = epi_tile_avx2;
    }
#endif
    long k = g->k, KC = g_kc, ldc = g->ldc;
    float tmp[6 * GK_NR];
    for (long k0 = 0;; k0 += KC) {
        long kc = GK_MAX(0L, GK_MIN(KC, k - k0));
        int load_c = k0 > 0, last = k0 + kc >= k;
        for (long j = n0; j < n1; j += GK_NR) {
            const float *b = g->bp + (j / GK_NR) * k * GK_NR + k0 * GK_NR;
            long cols = GK_MIN((long)GK_NR, n1 - j);
            for (long i = m0; i < m1; i += 6) {
                const float *a = g->ap + (i / GK_MR) * k * GK_MR + k0 * GK_MR + i % GK_MR;
                long rows = GK_MIN(6L, m1 - i);
                float *ct = g->c + i * ldc + j;
                if (rows == 6 && cols == GK_NR) {
                    micro(kc, a, b, ct, ldc, load_c);
                } else {
                    if (load_c)
                        for (long r = 0; r < rows; r++)
                            memcpy(tmp + r * GK_NR, ct + r * ldc, (size_t)cols * sizeof(float));
                    micro(kc, a, b, tmp, GK_NR, load_c);
                    for (long r = 0; r < rows; r++)
                        memcpy(ct + r * ldc, tmp + r * GK_NR, (size_t)cols * sizeof(float));
                }
                if (last) epi(ct, ldc, rows, cols, g->ep, i, j, 1);
            }
        }
        if (last) break;
    }
}

/* ---- partitioning and drivers ------------------------------------------------------------- */

static long col_unit(void) { return gk_simd_avx512 ? 2 * GK_NR : GK_NR; }

/* grid pm x pn (pm * pn = T): the least time per thread, modelled as its FMAs (rows x cols of
 * whole tiles, 32 multiply-adds per cycle) plus its share of both operands read from L3 (rows +
 * cols, about 16 bytes per cycle), both per k; ties split the larger operand */
static void grid(long m, long n, int T, int *pm_out, int *pn_out) {
    long cu = col_unit(), um = (m + GK_MR - 1) / GK_MR, un = (n + cu - 1) / cu;
    double best = -1.0;
    for (int pm = 1; pm <= T; pm++) {
        if (T % pm) continue;
        int pn = T / pm;
        double rows = (double)((um + pm - 1) / pm * GK_MR), cols = (double)((un + pn - 1) / pn * cu);
        double cost = rows * cols / 32.0 + (rows + cols) / 4.0;
        int better = best < 0 || cost < best ||
                     (cost == best && (n >= m ? pn > *pn_out : pm > *pm_out));
        if (better) {
            best = cost;
            *pm_out = pm;
            *pn_out = pn;
        }
    }
}

/* thread t's block of the T-way grid, run with the current level's kernels */
static void run_part(const gemm_args *g, int T, int t) {
    int pm = 1, pn = 1;
    if (T > 1) grid(g->m, g->n, T, &pm, &pn);
    long um = (g->m + GK_MR - 1) / GK_MR, cu = col_unit(), un = (g->n + cu - 1) / cu;
    int tm = t / pn, tn = t % pn;
    long m0 = um * tm / pm * GK_MR, m1 = GK_MIN(g->m, um * (tm + 1) / pm * GK_MR);
    long n0 = un * tn / pn * cu, n1 = GK_MIN(g->n, un * (tn + 1) / pn * cu);
    if (m0 >= m1 || n0 >= n1) return;
#if GK_X86
    if (gk_simd_avx512) {
        block_avx512(g, m0, m1, n0, n1);
        return;
    }
#endif
    block_6x16(g, m0, m1, n0, n1);
}

/* threads worth forking for an m x n x k product (about 2 us of work per extra thread) */
static int threads_for(double m, double n, double k, int threads) {
    double work = m * n * (k > 0 ? k : 1);
    int t = threads < 1 ? 1 : threads;
    while (t > 1 && work < 150000.0 * t) t--;
    return t;
}

static int team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static int team_rank(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    gemm_args g = {m, n, k, ap, bp, c, ldc, ep};
    int nt = threads_for((double)m, (double)n, (double)k, threads);
    if (nt == 1) {
        run_part(&g, 1, 0);
        return;
    }
#pragma omp parallel num_threads(nt)
    run_part(&g, team_size(), team_rank());
}

void gk_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const float *bp,
             float *c, long ldc, const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    long panels = (m + GK_MR - 1) / GK_MR;
    float *ap = tls_get(0, gk_packed_a_size(m, k));
    if (!ap) return;
    gemm_args g = {m, n, k, ap, bp, c, ldc, ep};
    int nt = threads_for((double)m, (double)n, (double)k, threads);
    if (nt == 1) {
        pack_a_panels(m, k, a, s_m, s_k, ap, 0, panels);
        run_part(&g, 1, 0);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int T = team_size(), t = team_rank();
        pack_a_panels(m, k, a, s_m, s_k, ap, panels * t / T, panels * (t + 1) / T);
#pragma omp barrier
        run_part(&g, T, t);
    }
}

void gk_gemm_batched(long batch, long m, long n, long k, const float *a, long a_bs, long s_m,
                     long s_k, const float *bp, long bp_bs, float *c, long c_bs, long ldc,
                     const gk_epilogue *ep, long r_bs, int threads) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    size_t asz = gk_packed_a_size(m, k);
    long panels = (m + GK_MR - 1) / GK_MR;
    int nt = threads_for((double)batch * m, (double)n, (double)k, threads);
    /* whole batches per thread when they divide evenly (or are many), else all threads on each */
    int per_thread = nt > 1 && (batch % nt == 0 || batch >= 4L * nt);
    float *shared = per_thread ? NULL : tls_get(0, asz);
    if (!per_thread && !shared) return;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int T = team_size(), t = team_rank();
        gk_epilogue e = *ep;
        if (per_thread) {
            float *ap = tls_get(0, asz);
            long packed = -1;
#pragma omp for schedule(static)
            for (long i = 0; i < batch; i++) {
                if (!ap) continue;
                long src = a_bs ? i : 0;
                if (src != packed) pack_a_panels(m, k, a + src * a_bs, s_m, s_k, ap, 0, panels);
                packed = src;
                e.residual = ep->residual ? ep->residual + i * r_bs : NULL;
                gemm_args g = {m, n, k, ap, bp + i * bp_bs, c + i * c_bs, ldc, &e};
                run_part(&g, 1, 0);
            }
        } else {
            for (long i = 0; i < batch; i++) {
                if (i == 0 || a_bs) {
                    if (i > 0 && T > 1) {
#pragma omp barrier
                    }
                    pack_a_panels(m, k, a + i * a_bs, s_m, s_k, shared, panels * t / T,
                                  panels * (t + 1) / T);
                    if (T > 1) {
#pragma omp barrier
                    }
                }
                e.residual = ep->residual ? ep->residual + i * r_bs : NULL;
                gemm_args g = {m, n, k, shared, bp + i * bp_bs, c + i * c_bs, ldc, &e};
                run_part(&g, T, t);
            }
        }
    }
}

/* C[b] = A[b] @ B[b] for b < batch, both operands packed per batch (neither is constant). A batch
 * stride of 0 broadcasts that operand. Whole batches per thread when there are enough of them. */
void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs, long a_sm,
                       long a_sk, const float *b, long b_bs, long b_sk, long b_sn, float *c,
                       long c_bs, int threads) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    gk_epilogue ep = {NULL, NULL, 0.0f, 0.0f, 0};
    size_t asz = gk_packed_a_size(m, k), bsz = gk_packed_b_size(k, n);
    long apan = (m + GK_MR - 1) / GK_MR, bpan = (n + GK_NR - 1) / GK_NR;
    int nt = threads_for((double)batch * m, (double)n, (double)k, threads);
    int per_thread = nt > 1 && (batch % nt == 0 || batch >= 4L * nt);
    float *sa = per_thread ? NULL : tls_get(0, asz), *sb = per_thread ? NULL : tls_get(1, bsz);
    if (!per_thread && (!sa || !sb)) return;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int T = team_size(), t = team_rank();
        if (per_thread) {
            float *ap = tls_get(0, asz), *bp = tls_get(1, bsz);
#pragma omp for schedule(static)
            for (long i = 0; i < batch; i++) {
                if (!ap || !bp) continue;
                pack_a_panels(m, k, a + i * a_bs, a_sm, a_sk, ap, 0, apan);
                pack_b_panels(k, n, b + i * b_bs, b_sk, b_sn, bp, 0, bpan);
                gemm_args g = {m, n, k, ap, bp, c + i * c_bs, n, &ep};
                run_part(&g, 1, 0);
            }
        } else {
            for (long i = 0; i < batch; i++) {
                if (i > 0 && T > 1) {
#pragma omp barrier
                }
                pack_a_panels(m, k, a + i * a_bs, a_sm, a_sk, sa, apan * t / T,
                              apan * (t + 1) / T);
                pack_b_panels(k, n, b + i * b_bs, b_sk, b_sn, sb, bpan * t / T,
                              bpan * (t + 1) / T);
                if (T > 1) {
#pragma omp barrier
                }
                gemm_args g = {m, n, k, sa, sb, c + i * c_bs, n, &ep};
                run_part(&g, T, t);
            }
        }
    }
}

void gk_epilogue_apply(float *y, long rows, long cols, long ldy, const gk_epilogue *ep,
                       int threads) {
    epi_fn epi = epi_for_level();
    long chunk = 16;
    long chunks = (rows + chunk - 1) / chunk;
    int nt = rows * cols >= 65536 ? threads : 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (long u = 0; u < chunks; u++) {
        long r0 = u * chunk, r = GK_MIN(chunk, rows - r0);
        epi(y + r0 * ldy, ldy, r, cols, ep, r0, 0, 1);
    }
}
