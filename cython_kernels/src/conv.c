/* Convolution pieces: im2col written straight into packed-B panels, and direct depthwise conv. */
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* spatial.c: the polyphase depthwise kernel (AVX2/AVX-512; 0 at the generic level) */
int gk_dw_poly(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
               long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
               const float *bias, float lo, float hi, int clip, float *y, int threads);

/* Packed B (see gemm.c) of the im2col matrix of one image group x (c, h, w):
 * B[(ci*kh + ky)*kw + kx, oy*ow + ox] = x[ci, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw] (0 outside). */
void gk_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh, long sw,
                    long dh, long dw, long ph, long pw, long oh, long ow, float *out, int threads) {
    long n = oh * ow, k = c * kh * kw, taps = kh * kw;
    long panels = (n + GK_NR - 1) / GK_NR;
#pragma omp parallel num_threads(threads) if (panels * k > 32768)
    {
        long *offs = (long *)malloc((size_t)taps * GK_NR * sizeof(long));
        int *dense = (int *)malloc((size_t)taps * sizeof(int));
#pragma omp for schedule(static)
        for (long p = 0; p < panels; p++) {
            if (!offs || !dense) continue;
            /* per tap: each lane's offset in a channel plane (-1: padding), and whether the 16
             * lanes read 16 consecutive floats */
            for (long t = 0; t < taps; t++) {
                long ky = t / kw, kx = t % kw;
                long *o = offs + t * GK_NR;
                for (long l = 0; l < GK_NR; l++) {
                    long q = p * GK_NR + l;
                    o[l] = -1;
                    if (q >= n) continue;
                    long iy = (q / ow) * sh - ph + ky * dh, ix = (q % ow) * sw - pw + kx * dw;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) o[l] = iy * w + ix;
                }
                int d = o[0] >= 0;
                for (long l = 1; l < GK_NR && d; l++) d = o[l] == o[0] + l;
                dense[t] = d;
            }
            float *dst = out + p * k * GK_NR;
            for (long ci = 0; ci < c; ci++) {
                const float *plane = x + ci * h * w;
                for (long t = 0; t < taps; t++, dst += GK_NR) {
                    const long *o = offs + t * GK_NR;
                    if (dense[t]) {
                        memcpy(dst, plane + o[0], GK_NR * sizeof(float));
                    } else {
                        for (long l = 0; l < GK_NR; l++) dst[l] = o[l] >= 0 ? plane[o[l]] : 0.0f;
                    }
                }
            }
        }
        free(offs);
        free(dense);
    }
}

#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define GK_SFX(name) name##_avx2
#include "conv_body.inc"
#undef GK_SFX
#pragma GCC pop_options
#endif
#define GK_SFX(name) name##_generic
#include "conv_body.inc"
#undef GK_SFX

/* dst (padh x padw) = the plane src (h x w) at offset (ph, pw), zero elsewhere; each element
 * written once (the plane may be cut off at the bottom / right where no window reads it) */
static void pad_plane(const float *src, long h, long w, long ph, long pw, long padh, long padw,
                      float *dst) {
    long x0 = GK_MAX(0L, -pw), x1 = GK_MIN(w, padw - pw); /* source columns copied */
    long c0 = x1 > x0 ? x0 + pw : padw, c1 = x1 > x0 ? x1 + pw : padw;
    for (long py = 0; py < padh; py++) {
        float *row = dst + py * padw;
        long iy = py - ph;
        if (iy < 0 || iy >= h || x1 <= x0) {
            memset(row, 0, (size_t)padw * sizeof(float));
            continue;
        }
        if (c0 > 0) memset(row, 0, (size_t)c0 * sizeof(float));
        memcpy(row + c0, src + iy * w + x0, (size_t)(c1 - c0) * sizeof(float));
        if (c1 < padw) memset(row + c1, 0, (size_t)(padw - c1) * sizeof(float));
    }
}

/* One output row of a 3x3 depthwise conv, dilation 1: row[ox] = clip(b + sum_ky w[ky][0] r_ky[ox]
 * + w[ky][1] r_ky[ox + o1] + w[ky][2] r_ky[ox + o2]), o1 = 1, o2 = 2 (stride 1, padded rows). */
static void dw3x3_row_generic(const float *restrict r0, const float *restrict r1,
                              const float *restrict r2, const float *restrict wc, long o1, long o2,
                              float b, float lo, float hi, int clip, long ow, float *restrict row) {
    for (long ox = 0; ox < ow; ox++) {
        float v = b + wc[0] * r0[ox] + wc[1] * r0[ox + o1] + wc[2] * r0[ox + o2] +
                  wc[3] * r1[ox] + wc[4] * r1[ox + o1] + wc[5] * r1[ox + o2] + wc[6] * r2[ox] +
                  wc[7] * r2[ox + o1] + wc[8] * r2[ox + o2];
        if (clip) {
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
        }
        row[ox] = v;
    }
}

#if GK_X86
GK_TARGET_AVX2 static void dw3x3_row_avx2(const float *restrict r0, const float *restrict r1,
                                          const float *restrict r2, const float *restrict wc,
                                          long o1, long o2, float b, float lo, float hi, int clip,
                                          long ow, float *restrict row) {
    __m256 w0 = _mm256_set1_ps(wc[0]), w1 = _mm256_set1_ps(wc[1]), w2 = _mm256_set1_ps(wc[2]);
    __m256 w3 = _mm256_set1_ps(wc[3]), w4 = _mm256_set1_ps(wc[4]), w5 = _mm256_set1_ps(wc[5]);
    __m256 w6 = _mm256_set1_ps(wc[6]), w7 = _mm256_set1_ps(wc[7]), w8 = _mm256_set1_ps(wc[8]);
    __m256 vb = _mm256_set1_ps(b), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    long ox = 0;
    for (; ox + 8 <= ow; ox += 8) {
        /* the same summation order as the generic row (b first, then the taps in order) */
        __m256 v = _mm256_fmadd_ps(w0, _mm256_loadu_ps(r0 + ox), vb);
        v = _mm256_fmadd_ps(w1, _mm256_loadu_ps(r0 + ox + o1), v);
        v = _mm256_fmadd_ps(w2, _mm256_loadu_ps(r0 + ox + o2), v);
        v = _mm256_fmadd_ps(w3, _mm256_loadu_ps(r1 + ox), v);
        v = _mm256_fmadd_ps(w4, _mm256_loadu_ps(r1 + ox + o1), v);
        v = _mm256_fmadd_ps(w5, _mm256_loadu_ps(r1 + ox + o2), v);
        v = _mm256_fmadd_ps(w6, _mm256_loadu_ps(r2 + ox), v);
        v = _mm256_fmadd_ps(w7, _mm256_loadu_ps(r2 + ox + o1), v);
        v = _mm256_fmadd_ps(w8, _mm256_loadu_ps(r2 + ox + o2), v);
        /* max(lo, v) / min(hi, v) return v when v is NaN, as the reference */
        if (clip) v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v));
        _mm256_storeu_ps(row + ox, v);
    }
    if (ox < ow) { /* the last 1..7 outputs with masked loads and stores (no reads past a row) */
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(ow - ox)), lane);
#define GK_LD(p) _mm256_maskload_ps((p), mask)
        __m256 v = _mm256_fmadd_ps(w0, GK_LD(r0 + ox), vb);
        v = _mm256_fmadd_ps(w1, GK_LD(r0 + ox + o1), v);
        v = _mm256_fmadd_ps(w2, GK_LD(r0 + ox + o2), v);
        v = _mm256_fmadd_ps(w3, GK_LD(r1 + ox), v);
        v = _mm256_fmadd_ps(w4, GK_LD(r1 + ox + o1), v);
        v = _mm256_fmadd_ps(w5, GK_LD(r1 + ox + o2), v);
        v = _mm256_fmadd_ps(w6, GK_LD(r2 + ox), v);
        v = _mm256_fmadd_ps(w7, GK_LD(r2 + ox + o1), v);
        v = _mm256_fmadd_ps(w8, GK_LD(r2 + ox + o2), v);
#undef GK_LD
        if (clip) v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v));
        _mm256_maskstore_ps(row + ox, mask, v);
    }
}

/* even / odd elements of the 16 floats a, b: [a0 a2 a4 a6 b0 b2 b4 b6], [a1 a3 ... b7] */
GK_TARGET_AVX2 static inline __m256 dw_even(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
}
GK_TARGET_AVX2 static inline __m256 dw_odd(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));
}

/* stride 2 (plain padded rows): the taps 2ox, 2ox + 1, 2ox + 2 split out of contiguous loads */
GK_TARGET_AVX2 static void dw3x3s2_row_avx2(const float *restrict r0, const float *restrict r1,
                                            const float *restrict r2, const float *restrict wc,
                                            float b, float lo, float hi, int clip, long ow,
                                            long padw, float *restrict row) {
    const float *rs[3] = {r0, r1, r2};
    __m256 vb = _mm256_set1_ps(b), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    long ox = 0;
    /* a block reads p[2ox .. 2ox + 17]; padw = 2 ow + 1, so the last block reads one float past
     * the row (the next row's, or the spare row after the plane), which no lane uses */
    for (; ox + 8 <= ow; ox += 8) {
        __m256 v = vb;
        for (int ky = 0; ky < 3; ky++) {
            const float *p = rs[ky] + 2 * ox;
            __m256 a = _mm256_loadu_ps(p), c = _mm256_loadu_ps(p + 8);
            __m256 a2 = _mm256_loadu_ps(p + 2), c2 = _mm256_loadu_ps(p + 10);
            v = _mm256_fmadd_ps(_mm256_set1_ps(wc[ky * 3]), dw_even(a, c), v);
            v = _mm256_fmadd_ps(_mm256_set1_ps(wc[ky * 3 + 1]), dw_odd(a, c), v);
            v = _mm256_fmadd_ps(_mm256_set1_ps(wc[ky * 3 + 2]), dw_even(a2, c2), v);
        }
        if (clip) v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v));
        _mm256_storeu_ps(row + ox, v);
    }
    for (; ox < ow; ox++) {
        float v = b;
        for (int ky = 0; ky < 3; ky++) {
            const float *p = rs[ky] + 2 * ox;
            v = fmaf(wc[ky * 3], p[0], v);
            v = fmaf(wc[ky * 3 + 1], p[1], v);
            v = fmaf(wc[ky * 3 + 2], p[2], v);
        }
        if (clip) {
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
        }
        row[ox] = v;
    }
}

/* any kh x kw, stride 1, dilation 1: row[ox] = clip(b + sum_{ky,kx} w[ky][kx] r[ky][ox + kx]),
 * 8 outputs per step in one register, the last 1..7 masked */
GK_TARGET_AVX2 static void dwk_row_avx2(const float *r, long padw, long kh, long kw,
                                        const float *restrict wc, float b, float lo, float hi,
                                        int clip, long ow, float *restrict row) {
    __m256 vb = _mm256_set1_ps(b), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long ox = 0; ox < ow; ox += 8) {
        int full = ox + 8 <= ow;
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)GK_MIN(ow - ox, 8L)), lane);
        __m256 v = vb;
        for (long ky = 0; ky < kh; ky++) {
            const float *rr = r + ky * padw + ox;
            const float *wk = wc + ky * kw;
            if (full)
                for (long kx = 0; kx < kw; kx++)
                    v = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + kx), _mm256_loadu_ps(rr + kx), v);
            else
                for (long kx = 0; kx < kw; kx++)
                    v = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + kx),
                                        _mm256_maskload_ps(rr + kx, mask), v);
        }
        if (clip) v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v));
        if (full)
            _mm256_storeu_ps(row + ox, v);
        else
            _mm256_maskstore_ps(row + ox, mask, v);
    }
}
#endif

/* 3x3, dilation 1, stride 1 (or 2 with AVX2): zero-padded plane, then the row kernels */
static void dw3x3_plane(const float *src, long h, long w, const float *wc, long sh, long sw,
                        long ph, long pw, long oh, long ow, float b, float lo, float hi, int clip,
                        float *scratch, float *dst, int use_avx2) {
    long padh = (oh - 1) * sh + 3, padw = (ow - 1) * sw + 3;
    pad_plane(src, h, w, ph, pw, padh, padw, scratch);
    for (long oy = 0; oy < oh; oy++) {
        const float *r0 = scratch + oy * sh * padw, *r1 = r0 + padw, *r2 = r1 + padw;
        float *row = dst + oy * ow;
#if GK_X86
        if (sw == 2) /* only with AVX2 (see fast3x3) */
            dw3x3s2_row_avx2(r0, r1, r2, wc, b, lo, hi, clip, ow, padw, row);
        else if (use_avx2)
            dw3x3_row_avx2(r0, r1, r2, wc, 1, 2, b, lo, hi, clip, ow, row);
        else
#endif
            dw3x3_row_generic(r0, r1, r2, wc, 1, 2, b, lo, hi, clip, ow, row);
    }
}

/* y[n, c] = clip(bias[c] + sum_{ky,kx} wt[c, ky, kx] * xpad[n, c, oy*sh + ky*dh, ox*sw + kx*dw]) */
void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
                  long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  const float *bias, float lo, float hi, int clip, float *y, int threads) {
    if (gk_dw_poly(x, n, c, h, w, wt, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bias, lo, hi, clip,
                   y, threads))
        return;
    long padh = (oh - 1) * sh + (kh - 1) * dh + 1, padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    long planes = n * c;
    int use_avx2 = gk_simd_avx2;
    int fast3x3 = kh == 3 && kw == 3 && dh == 1 && dw == 1 && (sw == 1 || (sw == 2 && use_avx2));
#pragma omp parallel num_threads(threads) if (planes * oh * ow * kh * kw > 32768)
    {
        float *scratch = (float *)malloc((size_t)((padh + 1) * padw) * sizeof(float));
#pragma omp for schedule(static)
        for (long pl = 0; pl < planes; pl++) {
            if (!scratch) continue;
            long ch = pl % c;
            const float *src = x + pl * h * w;
            if (fast3x3) {
                dw3x3_plane(src, h, w, wt + ch * 9, sh, sw, ph, pw, oh, ow, bias ? bias[ch] : 0.0f,
                            lo, hi, clip, scratch, y + pl * oh * ow, use_avx2);
                continue;
            }
            /* the zero-padded plane this window geometry reads */
            pad_plane(src, h, w, ph, pw, padh, padw, scratch);
            float b = bias ? bias[ch] : 0.0f;
            float *dst = y + pl * oh * ow;
            const float *wc = wt + ch * kh * kw;
#if GK_X86
            if (use_avx2 && sw == 1 && dh == 1 && dw == 1) {
                for (long oy = 0; oy < oh; oy++)
                    dwk_row_avx2(scratch + oy * sh * padw, padw, kh, kw, wc, b, lo, hi, clip, ow,
                                 dst + oy * ow);
            } else if (use_avx2)
                dw_plane_avx2(scratch, padw, wc, kh, kw, sh, sw, dh, dw, oh, ow, b, lo, hi, clip,
                              dst);
            else
#endif
                dw_plane_generic(scratch, padw, wc, kh, kw, sh, sw, dh, dw, oh, ow, b, lo, hi,
                                 clip, dst);
        }
        free(scratch);
    }
    (void)use_avx2;
}
