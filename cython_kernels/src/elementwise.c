/* Element-wise ops, per-channel affine, pooling, Softmax and LayerNorm rows, OpenMP-threaded. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#define CHUNK 8192 /* elements per parallel work unit of the flat loops */

/* exp(x) for float32, Cephes-style: 2^n * p(r) with |r| <= ln2/2, about 1 ulp; written with plain
 * arithmetic so the compiler vectorises it. NaN propagates; large |x| saturates to inf / 0. */
static inline float gk_expf(float x) {
    float xc = x < -87.33654f ? -87.33654f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    float n = floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale;
    e = x > 88.72283f ? INFINITY : e;
    e = x < -87.33654f ? 0.0f : e;
    return x != x ? x : e; /* NaN stays NaN */
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
        float *p = (float *)malloc((size_t)(padh * padw) * sizeof(float));
#pragma omp for schedule(static)
        for (long pl = 0; pl < nc; pl++) {
            if (!p) continue;
            for (long i = 0; i < padh * padw; i++) p[i] = fill;
            const float *src = x + pl * h * w;
            for (long iy = 0; iy < h && iy + ph < padh; iy++) {
                long x0 = GK_MAX(0L, -pw), x1 = GK_MIN(w, padw - pw);
                if (x1 > x0)
                    memcpy(p + (iy + ph) * padw + x0 + pw, src + iy * w + x0,
                           (size_t)(x1 - x0) * sizeof(float));
            }
            float *dst = y + pl * oh * ow;
            for (long oy = 0; oy < oh; oy++) {
                float *row = dst + oy * ow;
                GK_CALL(pool_row, is_max, p + oy * sh * padw, padw, kh, kw, sw, dh, dw, ow, row);
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
    for (long r = 0; r < rows; r++) GK_CALL(softmax_row, x + r * n, y + r * n, n);
}

void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for(rows * n, threads))
    for (long r = 0; r < rows; r++)
        GK_CALL(layernorm_row, x + r * n, scale, bias, y + r * n, n, eps, mean + r, inv_std + r);
}
