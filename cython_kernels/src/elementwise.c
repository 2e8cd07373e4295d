/* Element-wise ops, per-channel affine, pooling, Softmax and LayerNorm rows, OpenMP-threaded. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "gkx.h"

#define CHUNK 8192 /* elements per parallel work unit of the flat loops */


/* exp(t) in double for |t| <= 700 (clamped): 2^n * Taylor(r) with |r| <= ln2/2, ~1e-15
 * relative. n is extracted with the 1.5 * 2^52 trick so the loop vectorises without an AVX-512
 * double -> int64 conversion. */
static inline double gk_exp_d(double t) {
    t = t < -700.0 ? -700.0 : t;
    t = t > 700.0 ? 700.0 : t;
    double k = t * 1.4426950408889634074 + 6755399441055744.0;
    double nf = k - 6755399441055744.0;
    double r = t - nf * 0.693145751953125 - nf * 1.42860682030941723212e-6;
    double p = 2.5052108385441718775e-8;
    p = p * r + 2.7557319223985890653e-7;
    p = p * r + 2.7557319223985890653e-6;
    p = p * r + 2.4801587301587301587e-5;
    p = p * r + 1.9841269841269841270e-4;
    p = p * r + 1.3888888888888888889e-3;
    p = p * r + 8.3333333333333333333e-3;
    p = p * r + 4.1666666666666666667e-2;
    p = p * r + 1.6666666666666666667e-1;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t kb;
    memcpy(&kb, &k, sizeof kb);
    int64_t bits = (int64_t)((uint64_t)(kb + 1023) << 52);
    double s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

/* tanh in double: (e - 1) / (e + 1) with e = exp(2|x|), a series near 0; sign restored. */
static inline double gk_tanh_d(double x) {
    double a = fabs(x);
    a = a > 20.0 ? 20.0 : a;
    double e = gk_exp_d(2.0 * a);
    double big = (e - 1.0) / (e + 1.0), a2 = a * a;
    double small = a * (1.0 - a2 * (1.0 / 3.0 - a2 * (2.0 / 15.0)));
    double t = a < 1e-3 ? small : big;
    t = x != x ? x : t;
    return copysign(t, x);
}

/* erf(y) and erfc(y) for y >= 0 (NaN propagates), Cody's rational approximations (the
 * reference's _erf coefficients) in double, all three ranges computed and selected so the
 * loop vectorises. */
static inline double gk_horner(const double *c, int n, double t) {
    double s = c[0];
    for (int i = 1; i < n; i++) s = s * t + c[i];
    return s;
}
static const double GK_P1[5] = {1.85777706184603153e-1, 3.16112374387056560e00,
                                1.13864154151050156e02, 3.77485237685302021e02,
                                3.20937758913846947e03};
static const double GK_Q1[5] = {1.0, 2.36012909523441209e01, 2.44024637934444173e02,
                                1.28261652607737228e03, 2.84423683343917062e03};
static const double GK_P2[9] = {2.15311535474403846e-8, 5.64188496988670089e-1,
                                8.88314979438837594e00, 6.61191906371416295e01,
                                2.98635138197400131e02, 8.81952221241769090e02,
                                1.71204761263407058e03, 2.05107837782607147e03,
                                1.23033935479799725e03};
static const double GK_Q2[9] = {1.0, 1.57449261107098347e01, 1.17693950891312499e02,
                                5.37181101862009858e02, 1.62138957456669019e03,
                                3.29079923573345963e03, 4.36261909014324716e03,
                                3.43936767414372164e03, 1.23033935480374942e03};
static const double GK_P3[6] = {1.63153871373020978e-2, 3.05326634961232344e-1,
                                3.60344899949804439e-1, 1.25781726111229246e-1,
                                1.60837851487422766e-2, 6.58749161529837803e-4};
static const double GK_Q3[6] = {1.0, 2.56852019228982242e00, 1.87295284992346047e00,
                                5.27905102951428412e-1, 6.05183413124413191e-2,
                                2.33520497626869185e-3};
static inline void gk_erf_pair(double y, double *erf_out, double *erfc_out) {
    double y2 = y * y;
    double small = y * gk_horner(GK_P1, 5, y2) / gk_horner(GK_Q1, 5, y2);
    double ey = gk_exp_d(-(y2 < 700.0 ? y2 : 700.0));
    double mid = ey * gk_horner(GK_P2, 9, y) / gk_horner(GK_Q2, 9, y);
    double yl = y > 4.0 ? y : 4.0, z = 1.0 / (yl * yl);
    double large = ey / yl * (0.56418958354775628695 - z * gk_horner(GK_P3, 6, z) /
                                                           gk_horner(GK_Q3, 6, z));
    double erfc = y <= 4.0 ? mid : large;
    erfc = y <= 0.46875 ? 1.0 - small : erfc;
    double erf = y <= 0.46875 ? small : 1.0 - erfc;
    *erf_out = y != y ? y : erf;
    *erfc_out = y != y ? y : erfc;
}

#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define GK_SFX(name) name##_avx2
#include "elementwise_body.inc"
#undef GK_SFX
#pragma GCC pop_options
#endif
#define GK_SFX(name) name##_generic
#include "elementwise_body.inc"
#undef GK_SFX

#if GK_X86
/* Softmax/LayerNorm rows once more for AVX-512F: exp over 16 lanes is ~2x the AVX2 loop */
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,prefer-vector-width=512")
#define GK_SFX(name) name##_avx512
#include "softmax_body.inc"
#undef GK_SFX
#pragma GCC pop_options
#define GK_CALL_NORM(fn, ...) (gk_simd_avx512 ? fn##_avx512(__VA_ARGS__) : GK_CALL(fn, __VA_ARGS__))
#else
#define GK_CALL_NORM(fn, ...) GK_CALL(fn, __VA_ARGS__)
#endif

#if GK_X86
#define GK_CALL(fn, ...) (gk_simd_avx2 ? fn##_avx2(__VA_ARGS__) : fn##_generic(__VA_ARGS__))
#else
#define GK_CALL(fn, ...) fn##_generic(__VA_ARGS__)
#endif

static int threads_for(long work, int threads) { return work < 4 * CHUNK ? 1 : threads; }

void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid, long inner,
               int bo, int bm, int bi, int swap, int threads) {
    long rows = outer * mid, chunks = (inner + CHUNK - 1) / CHUNK;
    long b_inner = bi ? inner : 1, b_mid = bm ? mid : 1;
#pragma omp parallel for schedule(static) num_threads(threads_for(rows * inner, threads))
    for (long u = 0; u < rows * chunks; u++) {
        long r = u / chunks, i0 = (u % chunks) * CHUNK, len = GK_MIN((long)CHUNK, inner - i0);
        long o = r / mid, m = r % mid;
        const float *bp = b + ((bo ? o : 0) * b_mid + (bm ? m : 0)) * b_inner + (bi ? i0 : 0);
        GK_CALL(bin_row, op, a + r * inner + i0, bp, y + r * inner + i0, len, bi, swap);
    }
}

void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads) {
    long chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(threads_for(n, threads))
    for (long u = 0; u < chunks; u++) {
        long i0 = u * CHUNK;
        GK_CALL(unary_row, op, x + i0, y + i0, GK_MIN((long)CHUNK, n - i0), lo, hi);
    }
}

void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                       long outer, long c, long inner, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for(outer * c * inner, threads))
    for (long r = 0; r < outer * c; r++)
        GK_CALL(affine_row, x + r * inner, scale[r % c], shift[r % c], y + r * inner, inner);
}

void gk_pool2d(int is_max, const float *x, long nc, long h, long w, long kh, long kw, long sh,
               long sw, long dh, long dw, long ph, long pw, long oh, long ow, const float *cnt_y,
               const float *cnt_x, float *y, int threads) {
    long padh = (oh - 1) * sh + (kh - 1) * dh + 1, padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    float fill = is_max ? -INFINITY : 0.0f;
#pragma omp parallel num_threads(threads_for(nc * oh * ow * kh * kw, threads))
    {
        float *p = (float *)malloc((size_t)((padh + 1) * padw) * sizeof(float));
        float *mrow = p ? p + padh * padw : NULL; /* max pool: the vertical maxima of a row */
#pragma omp for schedule(static)
        for (long pl = 0; pl < nc; pl++) {
            if (!p) continue;
            const float *src = x + pl * h * w;
            float *dst = y + pl * oh * ow;
            if (is_max && ph == 0 && pw == 0 && padh <= h && padw <= w) {
                /* every window lies inside the plane: read it in place */
                for (long oy = 0; oy < oh; oy++)
                    GK_CALL(max_pool_row, src + oy * sh * w, w, padw, kh, kw, sw, dh, dw, ow, mrow,
                            dst + oy * ow);
                continue;
            }
            for (long i = 0; i < padh * padw; i++) p[i] = fill;
            for (long iy = 0; iy < h && iy + ph < padh; iy++) {
                long x0 = GK_MAX(0L, -pw), x1 = GK_MIN(w, padw - pw);
                if (x1 > x0)
                    memcpy(p + (iy + ph) * padw + x0 + pw, src + iy * w + x0,
                           (size_t)(x1 - x0) * sizeof(float));
            }
            for (long oy = 0; oy < oh; oy++) {
                float *row = dst + oy * ow;
                if (is_max)
                    GK_CALL(max_pool_row, p + oy * sh * padw, padw, padw, kh, kw, sw, dh, dw, ow,
                            mrow, row);
                else
                    GK_CALL(pool_row, 0, p + oy * sh * padw, padw, kh, kw, sw, dh, dw, ow, row);
                if (!is_max)
                    for (long ox = 0; ox < ow; ox++) {
                        float d = cnt_y[oy] * cnt_x[ox];
                        row[ox] /= d < 1.0f ? 1.0f : d;
                    }
            }
        }
        free(p);
    }
}

void gk_global_avg(const float *x, long nc, long hw, float *y, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for(nc * hw, threads))
    for (long r = 0; r < nc; r++) y[r] = GK_CALL(sum_row, x + r * hw, hw) / (float)hw;
}

void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for(rows * n, threads))
    for (long r = 0; r < rows; r++) GK_CALL_NORM(softmax_row, x + r * n, y + r * n, n);
}

void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for(rows * n, threads))
    for (long r = 0; r < rows; r++)
        GK_CALL_NORM(layernorm_row, x + r * n, scale, bias, y + r * n, n, eps, mean + r,
                     inv_std + r);
}
