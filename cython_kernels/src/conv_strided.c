/* Strided 1x1 convs as the plain 1x1 conv of their sampled input (see conv_strided.h).
 *
 * Why: gk_conv_gemm packed a strided 1x1's B as an im2col with one tap, a 16-lane gather per
 * channel and panel (stride 2: no two lanes adjacent), each thread its own block's panels. In
 * ResNet-18 the three 1x1 stride-2 downsamples read their block's input after two 3x3 convs
 * had run, and took 1.4-2x their time alone (216 us against 107 at 1 thread for 64 -> 128 at
 * 56x56), scaling 1.06-1.45x from 1 to 2 threads (results/resnet_2t.md, Session 28 (r18)). The
 * sampling here reads whole rows in order (the prefetchers follow them) once per conv, on every
 * thread, into a plane a quarter of the input's size that then stays in the caches for the
 * product, which reads it as the stride-1 1x1 convs do. */
#include "conv_strided.h"

#include <string.h>

#include "conv.h"
#include "isa.h"
#include "threadpool.h"

int gk_conv_strided_on = 1;

/* the sampled plane of the calling thread (the pool's threads write into it) */
static __thread gk_tls_buffer tl_sampled;

typedef struct {
    const float *x;
    long h, w, sh, sw, ph, pw, oh, ow;
    float *xs;
} sample_job;

/* channels [c0, c1) of the sampled input */
static void sample_channels(void *ctx, long c0, long c1, int seat) {
    const sample_job *j = (const sample_job *)ctx;
    long h = j->h, w = j->w, sh = j->sh, sw = j->sw, oh = j->oh, ow = j->ow;
    /* output columns whose sample lies inside the row: [x0, x1) */
    long x0 = 0, x1 = ow;
    while (x0 < ow && x0 * sw - j->pw < 0) x0++;
    while (x1 > x0 && (x1 - 1) * sw - j->pw >= w) x1--;
    (void)seat;
    for (long ci = c0; ci < c1; ci++) {
        const float *plane = j->x + ci * h * w;
        float *dst = j->xs + ci * oh * ow;
        for (long oy = 0; oy < oh; oy++, dst += ow) {
            long iy = oy * sh - j->ph;
            if (iy < 0 || iy >= h || x0 >= x1) {
                memset(dst, 0, (size_t)ow * sizeof(float));
                continue;
            }
            const float *src = plane + iy * w + x0 * sw - j->pw;
            for (long ox = 0; ox < x0; ox++) dst[ox] = 0.0f;
            if (sw == 2) {
                for (long ox = x0; ox < x1; ox++) dst[ox] = src[2 * (ox - x0)];
            } else {
                for (long ox = x0; ox < x1; ox++) dst[ox] = src[sw * (ox - x0)];
            }
            for (long ox = x1; ox < ow; ox++) dst[ox] = 0.0f;
        }
    }
}

int gk_conv_strided_1x1(const float *ap, long m, const float *x, long c, long h, long w, long kh,
                        long kw, long sh, long sw, long ph, long pw, long oh, long ow, float *bp,
                        float *y, const float *bias, const float *residual, float lo, float hi,
                        int clip, int threads) {
    if (!gk_conv_strided_on || kh != 1 || kw != 1 || c <= 0 || oh <= 0 || ow <= 0) return 0;
    if (sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == h && ow == w) return 0; /* plain */
    long n = oh * ow;
    float *xs = (float *)gk_tls_grow(&tl_sampled, (size_t)(c * n) * sizeof(float));
    if (!xs) return 0;
    sample_job j = {x, h, w, sh, sw, ph, pw, oh, ow, xs};
    /* the pool from about 16 K floats sampled (some microseconds) */
    gk_parallel_range(c, c * n > 16384 ? threads : 1, sample_channels, &j);
    gk_conv_gemm(ap, m, xs, c, oh, ow, 1, 1, 1, 1, 1, 1, 0, 0, oh, ow, bp, y, bias, residual, lo,
                 hi, clip, threads);
    return 1;
}
