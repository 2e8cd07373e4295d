/* 2-D pooling and the global average (pool.c drives them, pool_kernels.inc holds the per-level
 * kernels). */
#ifndef GK_POOL_H
#define GK_POOL_H

#include "polyphase.h"

/* Max or average pool of the planes x (nc, h, w) into y (nc, oh, ow); the average divides by
 * max(1, cnt_y[oy] * cnt_x[ox]); padding never wins a max (-inf) and adds 0 to a sum; NaN
 * propagates. Two implementations, by level: polyphase planes (levels 1 and 2, at most 256 taps,
 * unless gk_polyphase_on is 0), else separable row passes over a padded plane. */
void gk_pool2d(int is_max, const float *x, long nc, long h, long w, long kh, long kw, long sh,
               long sw, long dh, long dw, long ph, long pw, long oh, long ow, const float *cnt_y,
               const float *cnt_x, float *y, int threads);
/* y[r] = mean of the row x[r, 0:hw] */
void gk_global_avg(const float *x, long nc, long hw, float *y, int threads);

/* ---- per-level kernels (pool_kernels.inc; dispatch.c selects one level's) ------------------ */

typedef struct {
    /* one output row of a max pool from the padded rows at p (ld apart, padw wide), separably:
     * the vertical maxima into m (padw floats), then the horizontal ones */
    void (*max_row)(const float *p, long ld, long padw, long kh, long kw, long sw, long dh,
                    long dw, long ow, float *m, float *row);
    /* one output row of the window sums of a padded plane (padw wide) */
    void (*sum_window_row)(const float *p, long padw, long kh, long kw, long sw, long dh, long dw,
                           long ow, float *row);
    /* sum of x[0:n] */
    float (*row_sum)(const float *x, long n);
    /* polyphase (NULL at generic): pooled planes p0..p1 (batches and bands as sp_plan says) */
    void (*planes_poly)(int is_max, const sp_geo *g, const float *x, long p0, long p1, long oh,
                        long ow, const long *off, long taps, const float *cnt_y,
                        const float *cnt_x, float *phs, float *acc, long batch, long band,
                        float *y);
    /* polyphase levels (else NULL): one plane's max pool, dilation 1, column stride 1 or 2, by
     * vertical then horizontal maxima; buf: gk_max_sep_floats floats */
    void (*max_sep)(const float *x, long h, long w, long kh, long kw, long sh, long sw, long ph,
                    long pw, long oh, long ow, float *buf, float *y);
} gk_pool_kernels;

/* max_sep's row of vertical maxima (padded columns and vector slack) and its scratch in floats:
 * that row, then its even and odd columns */
static inline long gk_max_sep_mlen(long w, long ow, long sw, long kw, long pw) {
    long padw = (ow - 1) * sw + kw;
    return (padw > pw + w ? padw : pw + w) + 64;
}
static inline long gk_max_sep_floats(long w, long ow, long sw, long kw, long pw) {
    long mlen = gk_max_sep_mlen(w, ow, sw, kw, pw);
    return mlen + 2 * (mlen / 2 + 32);
}

#endif
