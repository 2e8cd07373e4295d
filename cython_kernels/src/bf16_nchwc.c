/* The blocked-layout 1x1 conv on AMX tiles (bf16_nchwc.h): strips of 32 pixels as the A tiles'
 * rows, the packed weights as B, 2 x 2 C tiles of 16 pixels x 16 output channels. The kernels are
 * compiled for AMX-BF16 / AVX-512 alone (function targets, so the driver runs on any CPU and
 * returns -2 before any of them where the tiles are not in use). */
#include "isa.h"
/* compiles to nothing in a build without the bf16 family (gossamer crop), as levels/amxbf16.c */
#if __has_include("bf16.h")
#include "bf16_nchwc.h"

#include <stdlib.h>
#include <string.h>

#include "amx.h"
#include "bf16.h"
#include "isa.h"
#include "threadpool.h"

#define GK_NB 8       /* the layout's channel block */
#define GK_STRIP 32   /* pixels per strip: two A tiles of GK_BF16_MR rows */
/* with threads, at least this many units (strip x column group) per thread where it can */
#define GK_NC_UNITS_PER_THREAD 2

#if GK_X86 && ((defined(__clang__) && __clang_major__ >= 12) || \
               (!defined(__clang__) && __GNUC__ >= 11))
#define GK_NCHWC_AMX 1
#endif

typedef struct {
    const float *x, *bias, *z;
    const uint32_t *wpk;
    float *y, lo, hi;
    long c, hw, m, pp, strips;
    long groups; /* column groups: a unit is (strip, group), strip-major */
    int failed;
} nc_job;

#ifdef GK_NCHWC_AMX
#pragma GCC push_options
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512dq,avx512vl,avx512bf16,avx2,fma")

/* tiles 0-3: C, 4-5: A (16 pixels x 16 pairs), 6-7: B (16 pairs x 16 output channels) */
static const gk_amx_tilecfg nc_cfg __attribute__((aligned(64))) =
    GK_AMX_TILECFG(16, 16, 16, 16, 16, 16, 16, 16);

/* this thread's packed strip (2 A panels of pp pairs), reused between calls (threadpool.h) */
static __thread gk_tls_buffer tl_strip;

/* the strip's pixels [p0, p0 + valid) of image `img` as two A panels (bf16.h's A layout: block kb
 * of a panel holds 16 rows x 16 pairs, row = pixel, pairs kb*16.. = channels kb*32..); rows past
 * `valid` and channels past c are zero pairs. Rounded by vcvtneps2bf16 (AVX512_BF16): one
 * instruction where gk_bf16_round's bits in zmm took about 15, which made the large planes'
 * layers (96 -> 24 channels at 56 x 56) as slow as the float32 kernel; the same bits but for a
 * float32 denormal, which it reads as zero (gk_bf16_round keeps the few that round up to
 * 2^-126) */
static void nc_pack_strip(const nc_job *j, long img, long p0, long valid, uint32_t *a) {
    long cb = j->c / GK_NB, pp = j->pp, hw = j->hw;
    const float *x = j->x + img * j->c * hw;
    for (long ib = 0; ib < pp / 4; ib++) { /* 4 pairs of each pixel per input block */
        long kb = ib / 4, at = (ib % 4) * 4;
        for (long r = 0; r < GK_STRIP; r += 2) {
            __m256i pr = _mm256_setzero_si256();
            if (ib < cb && r < valid) {
                __mmask16 mk = (__mmask16)(r + 1 < valid ? 0xFFFFu : 0x00FFu);
                __m512 v = _mm512_maskz_loadu_ps(mk, x + (ib * hw + p0 + r) * GK_NB);
                pr = (__m256i)_mm512_cvtneps_pbh(v); /* pixel r's 4 pairs, then r + 1's */
            }
            uint32_t *d = a + (r / GK_BF16_MR) * pp * GK_BF16_MR + kb * (GK_BF16_KB * GK_BF16_MR) +
                          (r % GK_BF16_MR) * GK_BF16_KB + at;
            _mm_store_si128((__m128i *)d, _mm256_castsi256_si128(pr));
            _mm_store_si128((__m128i *)(d + GK_BF16_KB), _mm256_extracti128_si256(pr, 1));
        }
    }
}

/* C tile t (pixels p0.., `rows` of them; output channels j0.., `cols` = 8 or 16) through buf to
 * y with bias, residual and clip (gemm.h's order, as the float32 epilogue adds them) */
static inline __attribute__((always_inline)) void nc_store(const nc_job *j, float *buf, long img,
                                                          long p0, long rows, long j0,
                                                          long cols) {
    long hw = j->hw, mb = j->m / GK_NB;
    __mmask16 mk = (__mmask16)(cols >= 16 ? 0xFFFFu : 0x00FFu);
    __m512 bias = j->bias ? _mm512_maskz_loadu_ps(mk, j->bias + j0) : _mm512_setzero_ps();
    __m512 lo = _mm512_set1_ps(j->lo), hi = _mm512_set1_ps(j->hi);
    long o0 = ((img * mb + j0 / GK_NB) * hw + p0) * GK_NB, o1 = o0 + hw * GK_NB;
    for (long r = 0; r < rows; r++, o0 += GK_NB, o1 += GK_NB) {
        __m512 v = _mm512_load_ps(buf + r * 16);
        if (j->bias) v = _mm512_add_ps(v, bias);
        if (j->z) {
            __m256 z0 = _mm256_loadu_ps(j->z + o0);
            __m256 z1 = cols >= 16 ? _mm256_loadu_ps(j->z + o1) : _mm256_setzero_ps();
            v = _mm512_add_ps(v, _mm512_insertf32x8(_mm512_castps256_ps512(z0), z1, 1));
        }
        v = _mm512_min_ps(hi, _mm512_max_ps(lo, v)); /* NaN stays (second operand) */
        _mm256_storeu_ps(j->y + o0, _mm512_castps512_ps256(v));
        if (cols >= 16) _mm256_storeu_ps(j->y + o1, _mm512_extractf32x8_ps(v, 1));
    }
}

/* units [u0, u1): unit u is strip u / groups (image s / strips, pixels (s % strips) * 32 ..)
 * times column group u % groups (its share of the output channels' 32-column tile pairs) */
static void nc_strips(void *ctx, long u0, long u1, int seat) {
    nc_job *j = (nc_job *)ctx;
    long pp = j->pp, blocks = pp / GK_BF16_KB, mt = (j->m + 15) / 16, pairs = (mt + 1) / 2;
    size_t need = (size_t)GK_STRIP * (size_t)pp;
    float buf[16 * 16] __attribute__((aligned(64)));
    (void)seat;
    if (u0 >= u1) return;
    uint32_t *a = (uint32_t *)gk_tls_grow(&tl_strip, need * sizeof(uint32_t));
    if (!a) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    gk_amx_load(&nc_cfg);
    for (long u = u0, packed = -1; u < u1; u++) {
        long s = u / j->groups, g = u % j->groups;
        long img = s / j->strips, p0 = (s % j->strips) * GK_STRIP;
        long valid = GK_MIN((long)GK_STRIP, j->hw - p0), r1 = valid - GK_BF16_MR;
        if (s != packed) nc_pack_strip(j, img, p0, valid, a), packed = s;
        const uint32_t *a0 = a, *a1 = a + pp * GK_BF16_MR;
        long jt1 = 2 * ((g + 1) * pairs / j->groups);
        for (long jt = 2 * (g * pairs / j->groups); jt < jt1 && jt < mt; jt += 2) {
            const uint32_t *b0 = j->wpk + jt * pp * 16, *b1 = b0 + pp * 16;
            int two_c = jt + 1 < mt, two_r = r1 > 0;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (long kb = 0; kb < blocks; kb++) {
                long o = kb * (GK_BF16_KB * 16);
                _tile_loadd(4, a0 + o, 64);
                _tile_loadd(6, b0 + o, 64);
                if (two_c) _tile_loadd(7, b1 + o, 64);
                if (two_r) _tile_loadd(5, a1 + o, 64);
                _tile_dpbf16ps(0, 4, 6);
                if (two_c) _tile_dpbf16ps(1, 4, 7);
                if (two_r) _tile_dpbf16ps(2, 5, 6);
                if (two_r && two_c) _tile_dpbf16ps(3, 5, 7);
            }
            long j0 = jt * 16, c0 = GK_MIN(16L, j->m - j0), rows0 = GK_MIN(16L, valid);
            _tile_stored(0, buf, 64);
            nc_store(j, buf, img, p0, rows0, j0, c0);
            if (two_c) {
                _tile_stored(1, buf, 64);
                nc_store(j, buf, img, p0, rows0, j0 + 16, GK_MIN(16L, j->m - j0 - 16));
            }
            if (two_r) {
                _tile_stored(2, buf, 64);
                nc_store(j, buf, img, p0 + 16, r1, j0, c0);
                if (two_c) {
                    _tile_stored(3, buf, 64);
                    nc_store(j, buf, img, p0 + 16, r1, j0 + 16, GK_MIN(16L, j->m - j0 - 16));
                }
            }
        }
    }
    _tile_release();
}

#pragma GCC pop_options
#endif

int gk_bf16_nchwc_conv1x1(const float *x, long n, long c, long hw, const uint32_t *wpk, long m,
                          const float *bias, const float *z, float lo, float hi, float *y,
                          int threads) {
    if (n < 0 || hw < 0 || c <= 0 || m <= 0 || c % GK_NB || m % GK_NB) return -3;
#ifdef GK_NCHWC_AMX
    if (!gk_bf16_amx()) return -2;
    if (n == 0 || hw == 0) return 0;
    nc_job j = {x, bias, z, wpk, y, lo, hi, c, hw, m, gk_bf16_pairs(c),
                (hw + GK_STRIP - 1) / GK_STRIP, 1, 0};
    /* threads worth a pool call (about 2 us of work per extra thread, as bf16.c's threads_for) */
    double work = (double)n * (double)hw * (double)m * (double)c;
    int t = threads < 1 ? 1 : threads;
    while (t > 1 && work < 150000.0 * t) t--;
    /* few strips (14 x 14, 7 x 7 planes): the threads split the output channels too, or each
     * would stream all of the weights for its one or two strips */
    long units = n * j.strips, pairs = (m + 31) / 32;
    if (t > 1 && units < GK_NC_UNITS_PER_THREAD * t)
        j.groups = GK_MIN(pairs, (GK_NC_UNITS_PER_THREAD * t + units - 1) / units);
    gk_parallel_range(units * j.groups, t, nc_strips, &j);
    return j.failed ? -1 : 0;
#else
    (void)x, (void)wpk, (void)bias, (void)z, (void)lo, (void)hi, (void)y, (void)threads;
    return -2;
#endif
}
#endif
