/* Convolution pieces: im2col written straight into packed-B panels, and direct depthwise conv. */
#include <stdlib.h>
#include <string.h>

#include "simd.h"

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

/* y[n, c] = clip(bias[c] + sum_{ky,kx} wt[c, ky, kx] * xpad[n, c, oy*sh + ky*dh, ox*sw + kx*dw]) */
void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
                  long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  const float *bias, float lo, float hi, int clip, float *y, int threads) {
    long padh = (oh - 1) * sh + (kh - 1) * dh + 1, padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    long planes = n * c;
    int use_avx2 = gk_simd_avx2;
#pragma omp parallel num_threads(threads) if (planes * oh * ow * kh * kw > 32768)
    {
        float *scratch = (float *)malloc((size_t)(padh * padw) * sizeof(float));
#pragma omp for schedule(static)
        for (long pl = 0; pl < planes; pl++) {
            if (!scratch) continue;
            long ch = pl % c;
            const float *src = x + pl * h * w;
            /* the zero-padded plane this window geometry reads */
            memset(scratch, 0, (size_t)(padh * padw) * sizeof(float));
            for (long iy = 0; iy < h; iy++) {
                long py = iy + ph;
                if (py >= padh) break;
                long x0 = GK_MAX(0L, -pw), x1 = GK_MIN(w, padw - pw);
                if (x1 > x0)
                    memcpy(scratch + py * padw + x0 + pw, src + iy * w + x0,
                           (size_t)(x1 - x0) * sizeof(float));
            }
            float b = bias ? bias[ch] : 0.0f;
            float *dst = y + pl * oh * ow;
            const float *wc = wt + ch * kh * kw;
#if GK_X86
            if (use_avx2)
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
