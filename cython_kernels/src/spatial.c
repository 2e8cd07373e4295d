/* Spatial kernels on polyphase planes: depthwise conv, direct conv with few input channels, 2-D
 * max / average pooling (AVX-512F and AVX2/FMA; callers use their older paths at the generic
 * level, where these return 0).
 *
 * The zero- (or -inf-) padded input plane a window geometry reads is split into sh x sw phase
 * planes, phase (a, b)[r, c] = padded[r * sh + a, c * sw + b], each hq x wq. Every tap (ky, kx) of
 * every output (oy, ox) then reads its phase plane at the flat index q + off(ky, kx) with
 * q = oy * wq + ox: one flat loop over q computes whole planes one vector (16 or 8 outputs) at a
 * time whatever the row width (a 7x7 plane is 4 vectors, not 7 part-filled ones), and stride 2
 * needs no gathers. Lanes with ox >= ow are computed and dropped when the rows are copied out.
 *
 * The body after GK_SPATIAL_BODY is compiled once per ISA: this file includes itself with SP(n)
 * naming the variant and the SPV_* macros wrapping its vector type.
 */
#ifndef GK_SPATIAL_BODY
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* Geometry of one plane's phases. */
typedef struct {
    long h, w;           /* input plane */
    long ph, pw;         /* pads at the top / left */
    long sh, sw;         /* strides: sh x sw phases */
    long padh, padw;     /* the padded extent the windows read */
    long hq, wq;         /* rows / columns of a phase plane */
    long plane;          /* floats from one phase plane to the next (hq * wq and a gap) */
    long y0, y1, x0, x1; /* input rows / columns inside the padded extent */
} sp_geo;

#define SP_SLACK 320 /* floats after the last phase plane read by lanes past the end */
#define SP_BATCH_FLOATS 12288 /* small planes: phases + results of this many floats per batch */
#define SP_CH 128    /* output pixels per chunk of a row in the direct conv (rows up to 160 whole) */

static void sp_geo_init(sp_geo *g, long h, long w, long kh, long kw, long sh, long sw, long dh,
                        long dw, long ph, long pw, long oh, long ow) {
    g->h = h, g->w = w, g->ph = ph, g->pw = pw, g->sh = sh, g->sw = sw;
    g->padh = (oh - 1) * sh + (kh - 1) * dh + 1;
    g->padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    g->hq = (g->padh + sh - 1) / sh;
    g->wq = (g->padw + sw - 1) / sw;
    g->plane = g->hq * g->wq + 32; /* the gap takes the overhang of a row's last vector */
    g->y0 = GK_MAX(0L, -ph), g->y1 = GK_MIN(h, g->padh - ph);
    g->x0 = GK_MAX(0L, -pw), g->x1 = GK_MIN(w, g->padw - pw);
}

/* floats of the phases of one plane, slack after them included */
static long sp_size(const sp_geo *g) { return g->sh * g->sw * g->plane + g->wq + SP_SLACK; }

static void sp_fill(float *p, long n, float v) {
    for (long i = 0; i < n; i++) p[i] = v;
}

/* flat offset of tap (ky, kx) in the phases of one plane */
static long sp_tap(const sp_geo *g, long ky, long kx, long dh, long dw) {
    long ry = ky * dh, rx = kx * dw;
    return ((ry % g->sh) * g->sw + rx % g->sw) * g->plane + (ry / g->sh) * g->wq + rx / g->sw;
}

#define GK_SPATIAL_BODY 1
#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#define SP(name) name##_avx512
#define SPV 16
/* direct conv register tiles: nv vectors of output channels x SP_NPn output pixels */
#define SP_DV 4
#define SP_NP1 16
#define SP_NP2 12
#define SP_NP3 8
#define SP_NP4 6
typedef __m512 sp_vf_avx512;
typedef __mmask16 sp_vm_avx512;
#define vf sp_vf_avx512
#define vm sp_vm_avx512
#define VLD _mm512_loadu_ps
#define VST _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VMAX _mm512_max_ps
#define VMIN _mm512_min_ps
#define VADD _mm512_add_ps
#define VDIV _mm512_div_ps
#define VMUL _mm512_mul_ps
#define VNAN(x) _mm512_cmp_ps_mask((x), (x), _CMP_UNORD_Q)
#define VM_NONE ((__mmask16)0)
#define VM_OR(a, b) ((__mmask16)((a) | (b)))
#define VM_SEL(m, v, nan) _mm512_mask_mov_ps((v), (m), (nan))
#define VCOPY_PART(d, s, n)                                                                    \
    _mm512_mask_storeu_ps((d), (__mmask16)((1u << (n)) - 1u),                                \
                          _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (s)))
#define VST_PART(d, v, n) _mm512_mask_storeu_ps((d), (__mmask16)((1u << (n)) - 1u), (v))
static inline __m512 sp_even_avx512(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}
static inline __m512 sp_odd_avx512(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, idx, b);
}
/* lanes l with lo <= col + l < hi read p[l], the others are `fill` (no access outside) */
static inline __m512 sp_load_in_avx512(const float *p, long col, long lo, long hi, __m512 fill) {
    __m512i c = _mm512_add_epi32(_mm512_set1_epi32((int)col),
                                 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __mmask16 m = _mm512_cmp_epi32_mask(c, _mm512_set1_epi32((int)lo), _MM_CMPINT_GE) &
                  _mm512_cmp_epi32_mask(c, _mm512_set1_epi32((int)hi), _MM_CMPINT_LT);
    return _mm512_mask_loadu_ps(fill, m, p);
}
/* r[i][j] -> r[j][i] (16 x 16) */
static inline __attribute__((always_inline)) void sp_transpose_avx512(__m512 *r) {
    __m512 u[16], v[16];
    for (int g = 0; g < 4; g++) {
        __m512 ta = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
        __m512 tb = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
        __m512 tc = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
        __m512 td = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
        u[4 * g] = _mm512_shuffle_ps(ta, tc, 0x44); /* rows 4g.. of column 4L + 0 in lane L */
        u[4 * g + 1] = _mm512_shuffle_ps(ta, tc, 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(tb, td, 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(tb, td, 0xEE);
    }
    for (int e = 0; e < 4; e++) {
        v[e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
        v[4 + e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xDD);
        v[8 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
        v[12 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xDD);
    }
    for (int e = 0; e < 4; e++) {
        r[e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0x88);
        r[8 + e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0xDD);
        r[4 + e] = _mm512_shuffle_f32x4(v[4 + e], v[12 + e], 0x88);
        r[12 + e] = _mm512_shuffle_f32x4(v[4 + e], v[12 + e], 0xDD);
    }
}
#define VEVEN sp_even_avx512
#define VODD sp_odd_avx512
#define VLOAD_IN sp_load_in_avx512
#define VTRANSPOSE sp_transpose_avx512
#include "spatial.c"
#undef SP
#undef SPV
#undef SP_DV
#undef SP_NP1
#undef SP_NP2
#undef SP_NP3
#undef SP_NP4
#undef VTRANSPOSE
#undef vf
#undef vm
#undef VLD
#undef VST
#undef VSET1
#undef VFMA
#undef VMAX
#undef VMIN
#undef VADD
#undef VDIV
#undef VMUL
#undef VNAN
#undef VM_NONE
#undef VM_OR
#undef VM_SEL
#undef VCOPY_PART
#undef VST_PART
#undef VEVEN
#undef VODD
#undef VLOAD_IN
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define SP(name) name##_avx2
#define SPV 8
#define SP_DV 2
#define SP_NP1 12
#define SP_NP2 6
#define vf __m256
#define vm __m256
#define VLD _mm256_loadu_ps
#define VST _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VMAX _mm256_max_ps
#define VMIN _mm256_min_ps
#define VADD _mm256_add_ps
#define VDIV _mm256_div_ps
#define VMUL _mm256_mul_ps
#define VNAN(x) _mm256_cmp_ps((x), (x), _CMP_UNORD_Q)
#define VM_NONE _mm256_setzero_ps()
#define VM_OR(a, b) _mm256_or_ps((a), (b))
#define VM_SEL(m, v, nan) _mm256_blendv_ps((v), (nan), (m))
#define VCOPY_PART(d, s, n)                                                                    \
    do {                                                                                       \
        for (long i_ = 0; i_ < (n); i_++) (d)[i_] = (s)[i_];                                   \
    } while (0)
#define VST_PART(d, v, n)                                                                      \
    do {                                                                                       \
        float t_[8];                                                                           \
        _mm256_storeu_ps(t_, (v));                                                             \
        for (long i_ = 0; i_ < (n); i_++) (d)[i_] = t_[i_];                                    \
    } while (0)
/* even / odd elements of the 16 floats a, b */
static inline __m256 sp_even_avx2(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
}
static inline __m256 sp_odd_avx2(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));
}
static inline __m256 sp_load_in_avx2(const float *p, long col, long lo, long hi, __m256 fill) {
    __m256i c = _mm256_add_epi32(_mm256_set1_epi32((int)col),
                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(c, _mm256_set1_epi32((int)lo - 1)),
                                 _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), c));
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
/* r[i][j] -> r[j][i] (8 x 8) */
static inline __attribute__((always_inline)) void sp_transpose_avx2(__m256 *r) {
    __m256 u[8];
    for (int g = 0; g < 2; g++) {
        __m256 ta = _mm256_unpacklo_ps(r[4 * g], r[4 * g + 1]);
        __m256 tb = _mm256_unpackhi_ps(r[4 * g], r[4 * g + 1]);
        __m256 tc = _mm256_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
        __m256 td = _mm256_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
        u[4 * g] = _mm256_shuffle_ps(ta, tc, 0x44);
        u[4 * g + 1] = _mm256_shuffle_ps(ta, tc, 0xEE);
        u[4 * g + 2] = _mm256_shuffle_ps(tb, td, 0x44);
        u[4 * g + 3] = _mm256_shuffle_ps(tb, td, 0xEE);
    }
    for (int e = 0; e < 4; e++) {
        r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
        r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
    }
}
#define VEVEN sp_even_avx2
#define VODD sp_odd_avx2
#define VLOAD_IN sp_load_in_avx2
#define VTRANSPOSE sp_transpose_avx2
#include "spatial.c"
#pragma GCC pop_options
#endif /* GK_X86 */

/* ---- entry points ------------------------------------------------------------------------- */

/* 0 turns these kernels off (the callers' older paths run; for A/B timings and tests) */
int gk_spatial_on = 1;

/* 0: generic level or turned off (the callers' older paths run), 1: AVX2/FMA, 2: AVX-512F */
static int sp_level(void) {
#if GK_X86
    if (!gk_spatial_on) return 0;
    return gk_simd_avx512 ? 2 : gk_simd_avx2 ? 1 : 0;
#else
    return 0;
#endif
}

/* Planes per batch and output rows per band: small planes are built, computed and copied out
 * a batch at a time (so no load waits on a just-stored vector it straddles), large ones a band
 * of rows at a time into a small result buffer. */
static void sp_plan(const sp_geo *g, long oh, long *batch, long *band) {
    long whole = sp_size(g) + oh * g->wq + 64;
    if (2 * whole <= SP_BATCH_FLOATS) {
        *batch = GK_MIN(32L, SP_BATCH_FLOATS / whole);
        *band = oh;
    } else {
        *batch = 1;
        *band = GK_MIN(oh, GK_MAX(1L, 2048 / g->wq));
    }
}

/* Depthwise conv, one filter per plane: y[n, c] = clip(bias[c] + sum_{ky,kx} wt[c, ky, kx] *
 * xpad[n, c, oy*sh + ky*dh, ox*sw + kx*dw]). Returns 0 (nothing done) at the generic level. */
int gk_dw_poly(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
               long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
               const float *bias, float lo, float hi, int clip, float *y, int threads) {
    int level = sp_level();
    if (!level || kh * kw > 64) return 0;
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long off[64];
    for (long ky = 0; ky < kh; ky++)
        for (long kx = 0; kx < kw; kx++) off[ky * kw + kx] = sp_tap(&g, ky, kx, dh, dw);
    if (!clip) lo = -INFINITY, hi = INFINITY;
    long planes = n * c, batch, band;
    sp_plan(&g, oh, &batch, &band);
    /* planes too large to batch (56x56 and up) measured no faster than conv.c's row kernels in
     * MobileNetV2 (112x112: 0.35 -> 0.42 ms), which keep the padded plane and rows in L1 */
    if (batch == 1) return 0;
    long chunks = (planes + batch - 1) / batch, psz = sp_size(&g), asz = band * g.wq + 64;
    int nt = planes * oh * ow * kh * kw > 32768 ? threads : 1;
    int ok = 1;
#pragma omp parallel num_threads(nt) reduction(&& : ok)
    {
        float *buf = (float *)malloc((size_t)(batch * (psz + asz)) * sizeof(float));
        ok = buf != NULL;
        if (buf) sp_fill(buf, batch * (psz + asz), 0.0f);
#pragma omp for schedule(static)
        for (long ck = 0; ck < chunks; ck++) {
            if (!buf) continue;
            long p0 = ck * batch, p1 = GK_MIN(planes, p0 + batch);
#if GK_X86
            if (level == 2)
                sp_dw_planes_avx512(&g, x, p0, p1, c, wt, bias, lo, hi, oh, ow, off, kh * kw,
                                    buf, buf + batch * psz, batch, band, y);
            else
                sp_dw_planes_avx2(&g, x, p0, p1, c, wt, bias, lo, hi, oh, ow, off, kh * kw, buf,
                                  buf + batch * psz, batch, band, y);
#endif
        }
        free(buf);
    }
    return ok;
}

/* floats of work gk_conv_direct needs */
size_t gk_conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw, long dh,
                           long dw, long ph, long pw, long oh, long ow) {
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    return (size_t)(c * g.sh * g.sw * g.plane + g.wq + SP_SLACK);
}

/* Direct conv, one group, few input channels (the stem of an image model):
 * y[n, o] = clip(bias[o] + sum_{ci,ky,kx} wt_t[(ci*kh + ky)*kw + kx, o] * xpad[n, ci, ...]),
 * wt_t the (C*kh*kw) x ldw transposed weights, ldw a multiple of 16 at least m (columns m.. are
 * zeros); work: gk_conv_direct_work floats. Output channels go in the vector lanes (weights of a
 * tap are whole vectors, the input is broadcast per output pixel from the phase planes), so a
 * register tile is channels x pixels, transposed into the NCHW planes through a small buffer.
 * Returns 0 (nothing done) at the generic level. */
int gk_conv_direct(const float *x, long n, long c, long h, long w, const float *wt_t, long m,
                   long ldw, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                   long pw, long oh, long ow, const float *bias, float lo, float hi, int clip,
                   float *y, float *work, int threads) {
    int level = sp_level();
    long k = c * kh * kw;
    if (!level || k > 1024 || ldw < m || ldw % 16) return 0;
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long per_c = g.sh * g.sw * g.plane;
    long *off = (long *)malloc((size_t)k * sizeof(long));
    float *bp = (float *)malloc((size_t)ldw * sizeof(float)); /* bias, zeros past m */
    if (!off || !bp) {
        free(off);
        free(bp);
        return 0;
    }
    for (long o = 0; o < ldw; o++) bp[o] = bias && o < m ? bias[o] : 0.0f;
    for (long ci = 0; ci < c; ci++)
        for (long ky = 0; ky < kh; ky++)
            for (long kx = 0; kx < kw; kx++)
                off[(ci * kh + ky) * kw + kx] = ci * per_c + sp_tap(&g, ky, kx, dh, dw);
    if (!clip) lo = -INFINITY, hi = INFINITY;
    sp_fill(work + c * per_c, g.wq + SP_SLACK, 0.0f);
    long ch = ow <= SP_CH + SP_CH / 4 ? ow : SP_CH;
    long tasks = c * g.sh; /* (channel, row phase) pairs to build */
    int nt = m * oh * ow * k > 65536 ? threads : 1;
    int ok = 1;
#pragma omp parallel num_threads(nt) reduction(&& : ok)
    {
        long tsz = (ch + 16) * ldw;
        float *t = (float *)malloc((size_t)tsz * sizeof(float));
        ok = t != NULL;
        if (t) sp_fill(t, tsz, 0.0f);
        for (long i = 0; i < n; i++) {
            const float *xi = x + i * c * h * w;
#pragma omp for schedule(static)
            for (long tk = 0; tk < tasks; tk++) {
                long ci = tk / g.sh, a = tk % g.sh;
#if GK_X86
                if (level == 2)
                    sp_build_rows_avx512(&g, xi + ci * h * w, work + ci * per_c, 0.0f, a);
                else
                    sp_build_rows_avx2(&g, xi + ci * h * w, work + ci * per_c, 0.0f, a);
#endif
            }
#pragma omp for schedule(static)
            for (long oy = 0; oy < oh; oy++) {
                if (!t) continue;
#if GK_X86
                if (level == 2)
                    sp_direct_row_avx512(&g, work, off, k, wt_t, ldw, m, bp, lo, hi, oy, oh, ow,
                                         ch, t, y + i * m * oh * ow);
                else
                    sp_direct_row_avx2(&g, work, off, k, wt_t, ldw, m, bp, lo, hi, oy, oh, ow,
                                       ch, t, y + i * m * oh * ow);
#endif
            }
        }
        free(t);
    }
    free(off);
    free(bp);
    return ok;
}

/* 2-D max or average pool of planes x (nc, h, w); the average divides by cnt_y[oy] * cnt_x[ox]
 * (at least 1); padding never wins a max (-inf) and adds 0 to a sum. NaN propagates. Returns 0
 * (nothing done) at the generic level. */
int gk_pool_poly(int is_max, const float *x, long nc, long h, long w, long kh, long kw, long sh,
                 long sw, long dh, long dw, long ph, long pw, long oh, long ow, const float *cnt_y,
                 const float *cnt_x, float *y, int threads) {
    int level = sp_level();
    if (!level || kh * kw > 256) return 0;
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long off[256];
    for (long ky = 0; ky < kh; ky++)
        for (long kx = 0; kx < kw; kx++) off[ky * kw + kx] = sp_tap(&g, ky, kx, dh, dw);
    long batch, band;
    sp_plan(&g, oh, &batch, &band);
    long chunks = (nc + batch - 1) / batch, psz = sp_size(&g), asz = band * g.wq + 64;
    int nt = nc * oh * ow * kh * kw > 32768 ? threads : 1;
    int ok = 1;
#pragma omp parallel num_threads(nt) reduction(&& : ok)
    {
        float *buf = (float *)malloc((size_t)(batch * (psz + asz)) * sizeof(float));
        ok = buf != NULL;
        if (buf) sp_fill(buf, batch * (psz + asz), 0.0f);
#pragma omp for schedule(static)
        for (long ck = 0; ck < chunks; ck++) {
            if (!buf) continue;
            long p0 = ck * batch, p1 = GK_MIN(nc, p0 + batch);
#if GK_X86
            if (level == 2)
                sp_pool_planes_avx512(is_max, &g, x, p0, p1, oh, ow, off, kh * kw, cnt_y, cnt_x,
                                      buf, buf + batch * psz, batch, band, y);
            else
                sp_pool_planes_avx2(is_max, &g, x, p0, p1, oh, ow, off, kh * kw, cnt_y, cnt_x,
                                    buf, buf + batch * psz, batch, band, y);
#endif
        }
        free(buf);
    }
    return ok;
}

#else /* GK_SPATIAL_BODY: the per-ISA body ---------------------------------------------------- */

/* dst[0:n] = src[0:n] */
static inline void SP(sp_copy)(float *restrict dst, const float *restrict src, long n) {
    long i = 0;
    for (; i + SPV <= n; i += SPV) VST(dst + i, VLD(src + i));
    if (i < n) {
        if (n >= SPV)
            VST(dst + n - SPV, VLD(src + n - SPV)); /* overlaps: the same values again */
        else
            VCOPY_PART(dst + i, src + i, n - i);
    }
}

/* Phase row rr of row phase a (all sw column phases) of one plane: padded row r = rr*sh + a,
 * written in whole vectors (the last one runs into the next row or the gap after the plane). */
static inline __attribute__((always_inline)) void SP(sp_build_row)(
    const sp_geo *g, const float *restrict src, float *restrict phs, float fill, long a, long rr) {
    long r = rr * g->sh + a, iy = r - g->ph, wq = g->wq, sw = g->sw;
    long c0 = g->x0 + g->pw, c1 = g->x1 + g->pw; /* padded columns holding input */
    vf vfill = VSET1(fill);
    int inside = r < g->padh && iy >= g->y0 && iy < g->y1 && g->x1 > g->x0;
    if (!inside) {
        for (long b = 0; b < sw; b++) {
            float *dst = phs + (a * sw + b) * g->plane + rr * wq;
            for (long j = 0; j < wq; j += SPV) VST(dst + j, vfill);
        }
        return;
    }
    const float *s = src + iy * g->w - g->pw; /* s[col] = input at padded column col */
    if (sw == 1) {
        float *dst = phs + a * g->plane + rr * wq;
        for (long j = 0; j < wq; j += SPV) {
            vf v = j >= c0 && j + SPV <= c1 ? VLD(s + j) : VLOAD_IN(s + j, j, c0, c1, vfill);
            VST(dst + j, v);
        }
        return;
    }
    if (sw == 2) {
        float *e = phs + (a * 2) * g->plane + rr * wq, *o = e + g->plane;
        for (long j = 0; j < wq; j += SPV) {
            long col = 2 * j;
            vf lo, hi;
            if (col >= c0 && col + 2 * SPV <= c1) {
                lo = VLD(s + col);
                hi = VLD(s + col + SPV);
            } else {
                lo = VLOAD_IN(s + col, col, c0, c1, vfill);
                hi = VLOAD_IN(s + col + SPV, col + SPV, c0, c1, vfill);
            }
            VST(e + j, VEVEN(lo, hi));
            VST(o + j, VODD(lo, hi));
        }
        return;
    }
    for (long b = 0; b < sw; b++) {
        float *dst = phs + (a * sw + b) * g->plane + rr * wq;
        for (long j = 0; j < wq; j++) {
            long col = j * sw + b;
            dst[j] = col >= c0 && col < c1 ? s[col] : fill;
        }
    }
}

/* all rows of row phase a of one plane */
static void SP(sp_build_rows)(const sp_geo *g, const float *restrict src, float *restrict phs,
                              float fill, long a) {
    for (long rr = 0; rr < g->hq; rr++) SP(sp_build_row)(g, src, phs, fill, a, rr);
}

/* all phases of one plane */
static void SP(sp_build)(const sp_geo *g, const float *restrict src, float *restrict phs,
                         float fill) {
    for (long a = 0; a < g->sh; a++)
        for (long rr = 0; rr < g->hq; rr++) SP(sp_build_row)(g, src, phs, fill, a, rr);
}

/* copy out rows oy0..oy1 of the flat results acc (wq apart) into y (ow apart) */
static inline void SP(sp_rows_out)(const float *restrict acc, long wq, long oy0, long oy1, long ow,
                                   float *restrict y) {
    for (long oy = oy0; oy < oy1; oy++) SP(sp_copy)(y + oy * ow, acc + (oy - oy0) * wq, ow);
}

/* Depthwise output rows oy0..oy1 of one plane from its phases into acc (flat, wq per row):
 * taps at offsets off[0:taps], weights wc. */
static void SP(sp_dw_rows)(const sp_geo *g, const float *phs, const long *off, long taps,
                           const float *wc, float b, float lo, float hi, long oy0, long oy1,
                           float *restrict acc) {
    long wq = g->wq, qa = oy0 * wq, nq = (oy1 - oy0) * wq;
    vf vb = VSET1(b), vlo = VSET1(lo), vhi = VSET1(hi);
    if (taps == 9) {
        const float *p0 = phs + off[0] + qa, *p1 = phs + off[1] + qa, *p2 = phs + off[2] + qa;
        const float *p3 = phs + off[3] + qa, *p4 = phs + off[4] + qa, *p5 = phs + off[5] + qa;
        const float *p6 = phs + off[6] + qa, *p7 = phs + off[7] + qa, *p8 = phs + off[8] + qa;
        vf w0 = VSET1(wc[0]), w1 = VSET1(wc[1]), w2 = VSET1(wc[2]), w3 = VSET1(wc[3]);
        vf w4 = VSET1(wc[4]), w5 = VSET1(wc[5]), w6 = VSET1(wc[6]), w7 = VSET1(wc[7]);
        vf w8 = VSET1(wc[8]);
        for (long q = 0; q < nq; q += SPV) {
            /* bias first, then the taps in order (as the row kernels of conv.c) */
            vf v = VFMA(w0, VLD(p0 + q), vb);
            v = VFMA(w1, VLD(p1 + q), v);
            v = VFMA(w2, VLD(p2 + q), v);
            v = VFMA(w3, VLD(p3 + q), v);
            v = VFMA(w4, VLD(p4 + q), v);
            v = VFMA(w5, VLD(p5 + q), v);
            v = VFMA(w6, VLD(p6 + q), v);
            v = VFMA(w7, VLD(p7 + q), v);
            v = VFMA(w8, VLD(p8 + q), v);
            /* max(lo, v) / min(hi, v) return v when v is NaN, as the reference */
            VST(acc + q, VMIN(vhi, VMAX(vlo, v)));
        }
        return;
    }
    for (long q = 0; q < nq; q += SPV) {
        vf v = vb;
        for (long t = 0; t < taps; t++) v = VFMA(VSET1(wc[t]), VLD(phs + off[t] + qa + q), v);
        VST(acc + q, VMIN(vhi, VMAX(vlo, v)));
    }
}

/* Depthwise planes p0..p1 (of n*c): batch > 1 builds, computes and copies out all of them in
 * turn (band == oh); batch 1 goes a band of rows at a time. */
static void SP(sp_dw_planes)(const sp_geo *g, const float *x, long p0, long p1, long c,
                             const float *wt, const float *bias, float lo, float hi, long oh,
                             long ow, const long *off, long taps, float *phs, float *acc,
                             long batch, long band, float *y) {
    long hw = g->h * g->w, psz = sp_size(g), asz = band * g->wq + 64;
    if (batch > 1) {
        for (long p = p0; p < p1; p++) SP(sp_build)(g, x + p * hw, phs + (p - p0) * psz, 0.0f);
        for (long p = p0; p < p1; p++) {
            long ch = p % c;
            SP(sp_dw_rows)(g, phs + (p - p0) * psz, off, taps, wt + ch * taps,
                           bias ? bias[ch] : 0.0f, lo, hi, 0, oh, acc + (p - p0) * asz);
        }
        for (long p = p0; p < p1; p++)
            SP(sp_rows_out)(acc + (p - p0) * asz, g->wq, 0, oh, ow, y + p * oh * ow);
        return;
    }
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        SP(sp_build)(g, x + p * hw, phs, 0.0f);
        for (long oy0 = 0; oy0 < oh; oy0 += band) {
            long oy1 = GK_MIN(oh, oy0 + band);
            SP(sp_dw_rows)(g, phs, off, taps, wt + ch * taps, bias ? bias[ch] : 0.0f, lo, hi,
                           oy0, oy1, acc);
            SP(sp_rows_out)(acc, g->wq, oy0, oy1, ow, y + p * oh * ow);
        }
    }
}

/* One register tile of the direct conv: nv vectors of output channels (the padded weights' columns
 * from wg on, ldw apart per tap) x np output pixels, flat outputs xq[j] of every tap's phase plane
 * (xq + off[t]); bias first, then every tap in order; clipped results into t, one row of nv * SPV
 * channels per pixel, ldt apart. */
static inline __attribute__((always_inline)) void SP(sp_dt_tile)(
    const float *xq, const long *off, long k, const float *wg, long ldw, const float *bg, vf vlo,
    vf vhi, float *restrict t, long ldt, const int nv, const int np) {
    vf s[SP_DV][16];
#pragma GCC unroll 16
    for (int v = 0; v < nv; v++) {
        vf b = VLD(bg + v * SPV);
#pragma GCC unroll 16
        for (int j = 0; j < np; j++) s[v][j] = b;
    }
    for (long i = 0; i < k; i++) {
        const float *p = xq + off[i], *w = wg + i * ldw;
        vf wv[SP_DV];
#pragma GCC unroll 16
        for (int v = 0; v < nv; v++) wv[v] = VLD(w + v * SPV);
#pragma GCC unroll 16
        for (int j = 0; j < np; j++) {
            vf xv = VSET1(p[j]);
#pragma GCC unroll 16
            for (int v = 0; v < nv; v++) s[v][j] = VFMA(wv[v], xv, s[v][j]);
        }
    }
#pragma GCC unroll 16
    for (int j = 0; j < np; j++)
#pragma GCC unroll 16
        for (int v = 0; v < nv; v++)
            VST(t + j * ldt + v * SPV, VMIN(vhi, VMAX(vlo, s[v][j])));
}

/* tiles over pixels 0..n (the last one may run past n: t has room, the phases slack) */
#define SP_DT_TILES(NV, NP)                                                                    \
    for (long px = 0; px < n; px += (NP))                                                      \
    SP(sp_dt_tile)(xq + px, off, k, wg, ldw, bg, vlo, vhi, t + px * ldt, ldt, (NV), (NP))

static void SP(sp_dt_tiles)(const float *xq, const long *off, long k, const float *wg, long ldw,
                            const float *bg, vf vlo, vf vhi, float *restrict t, long ldt, int nv,
                            long n) {
#if SP_DV == 4
    if (nv == 4) {
        SP_DT_TILES(4, SP_NP4);
        return;
    }
    if (nv == 3) {
        SP_DT_TILES(3, SP_NP3);
        return;
    }
#endif
    if (nv == 2)
        SP_DT_TILES(2, SP_NP2);
    else
        SP_DT_TILES(1, SP_NP1);
}
#undef SP_DT_TILES

/* y[c, px] = t[px, c] for channels 0..m, pixels 0..n (rows of y ys apart) */
static void SP(sp_dt_out)(const float *t, long ldt, long m, long n, float *restrict y, long ys) {
    for (long cb = 0; cb < m; cb += SPV) {
        long nc = GK_MIN((long)SPV, m - cb);
        for (long pb = 0; pb < n; pb += SPV) {
            long np = GK_MIN((long)SPV, n - pb);
            vf r[SPV];
            for (int i = 0; i < SPV; i++) r[i] = VLD(t + (pb + i) * ldt + cb);
            VTRANSPOSE(r);
            float *d = y + cb * ys + pb;
            if (np == SPV)
                for (long i = 0; i < nc; i++) VST(d + i * ys, r[i]);
            else
                for (long i = 0; i < nc; i++) VST_PART(d + i * ys, r[i], np);
        }
    }
}

/* Output row oy of every channel of the direct conv (one image): pixel chunks of ch, each computed
 * into t (pixel-major, ldw channels per pixel) a channel group at a time, then transposed into y. */
static void SP(sp_direct_row)(const sp_geo *g, const float *phs, const long *off, long k,
                              const float *wt, long ldw, long m, const float *bias, float lo,
                              float hi, long oy, long oh, long ow, long ch, float *restrict t,
                              float *restrict y) {
    vf vlo = VSET1(lo), vhi = VSET1(hi);
    long mv = (m + SPV - 1) / SPV;
    for (long x0 = 0; x0 < ow; x0 += ch) {
        long n = GK_MIN(ch, ow - x0);
        const float *xq = phs + oy * g->wq + x0;
        for (long v0 = 0; v0 < mv;) {
            int nv = (int)GK_MIN((long)SP_DV, mv - v0);
            SP(sp_dt_tiles)(xq, off, k, wt + v0 * SPV, ldw, bias + v0 * SPV, vlo, vhi,
                            t + v0 * SPV, ldw, nv, n);
            v0 += nv;
        }
        SP(sp_dt_out)(t, ldw, m, n, y + oy * ow + x0, oh * ow);
    }
}

/* Pooled rows oy0..oy1 of one plane from its phases into acc (max: NaN propagates; average:
 * the plain sum). */
static void SP(sp_pool_rows)(int is_max, const sp_geo *g, const float *phs, const long *off,
                             long taps, long oy0, long oy1, float *restrict acc) {
    long wq = g->wq, qa = oy0 * wq, nq = (oy1 - oy0) * wq;
    const float *p = phs + qa;
    if (is_max) {
        vf vnan = VSET1(NAN);
        for (long q = 0; q < nq; q += 2 * SPV) {
            vf m0 = VLD(p + off[0] + q), m1 = VLD(p + off[0] + q + SPV);
            vm n0 = VNAN(m0), n1 = VNAN(m1);
            for (long t = 1; t < taps; t++) {
                vf a0 = VLD(p + off[t] + q), a1 = VLD(p + off[t] + q + SPV);
                n0 = VM_OR(n0, VNAN(a0));
                n1 = VM_OR(n1, VNAN(a1));
                m0 = VMAX(m0, a0);
                m1 = VMAX(m1, a1);
            }
            VST(acc + q, VM_SEL(n0, m0, vnan));
            VST(acc + q + SPV, VM_SEL(n1, m1, vnan));
        }
        return;
    }
    vf vzero = VSET1(0.0f);
    for (long q = 0; q < nq; q += 2 * SPV) {
        vf s0 = vzero, s1 = vzero;
        for (long t = 0; t < taps; t++) {
            s0 = VADD(s0, VLD(p + off[t] + q));
            s1 = VADD(s1, VLD(p + off[t] + q + SPV));
        }
        VST(acc + q, s0);
        VST(acc + q + SPV, s1);
    }
}

/* rows oy0..oy1 out of acc: as they are (max) or divided by max(1, cnt_y[oy] * cnt_x[ox]) */
static void SP(sp_pool_out)(int is_max, const float *acc, long wq, long oy0, long oy1, long ow,
                            const float *cnt_y, const float *cnt_x, float *restrict y) {
    if (is_max) {
        SP(sp_rows_out)(acc, wq, oy0, oy1, ow, y);
        return;
    }
    for (long oy = oy0; oy < oy1; oy++) {
        const float *a = acc + (oy - oy0) * wq;
        float *row = y + oy * ow;
        float cy = cnt_y[oy];
        for (long ox = 0; ox < ow; ox++) {
            float d = cy * cnt_x[ox];
            row[ox] = a[ox] / (d < 1.0f ? 1.0f : d);
        }
    }
}

/* Pooled planes p0..p1 (batches and bands as sp_dw_planes) */
static void SP(sp_pool_planes)(int is_max, const sp_geo *g, const float *x, long p0, long p1,
                               long oh, long ow, const long *off, long taps, const float *cnt_y,
                               const float *cnt_x, float *phs, float *acc, long batch, long band,
                               float *y) {
    long hw = g->h * g->w, psz = sp_size(g), asz = band * g->wq + 64;
    float fill = is_max ? -INFINITY : 0.0f;
    if (batch > 1) {
        for (long p = p0; p < p1; p++) SP(sp_build)(g, x + p * hw, phs + (p - p0) * psz, fill);
        for (long p = p0; p < p1; p++)
            SP(sp_pool_rows)(is_max, g, phs + (p - p0) * psz, off, taps, 0, oh,
                             acc + (p - p0) * asz);
        for (long p = p0; p < p1; p++)
            SP(sp_pool_out)(is_max, acc + (p - p0) * asz, g->wq, 0, oh, ow, cnt_y, cnt_x,
                            y + p * oh * ow);
        return;
    }
    for (long p = p0; p < p1; p++) {
        SP(sp_build)(g, x + p * hw, phs, fill);
        for (long oy0 = 0; oy0 < oh; oy0 += band) {
            long oy1 = GK_MIN(oh, oy0 + band);
            SP(sp_pool_rows)(is_max, g, phs, off, taps, oy0, oy1, acc);
            SP(sp_pool_out)(is_max, acc, g->wq, oy0, oy1, ow, cnt_y, cnt_x, y + p * oh * ow);
        }
    }
}

#endif /* GK_SPATIAL_BODY */
