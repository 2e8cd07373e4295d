/* Pooling drivers (see pool.h): polyphase planes where the level has them, else row passes over a
 * padded plane; the global average. The per-level kernels are in pool_kernels.inc. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "pool.h"
#include "threadpool.h"

/* threads worth a pool call for `work` window taps (one costs about a microsecond) */
static int threads_for_work(long work, int threads) { return work < 32768 ? 1 : threads; }

/* gk_pool2d on polyphase planes: returns 0 (nothing done) where the level has no polyphase
 * kernel, they are turned off, or the window has more than 256 taps */
typedef struct {
    const gk_pool_kernels *K;
    int is_max;
    const sp_geo *g;
    const float *x, *cnt_y, *cnt_x;
    long oh, ow, taps, batch, band;
    const long *off;
    float *y;
} pool_batch;

static void pool_planes(const void *ctx, long p0, long p1, float *phs, float *acc) {
    const pool_batch *d = (const pool_batch *)ctx;
    d->K->planes_poly(d->is_max, d->g, d->x, p0, p1, d->oh, d->ow, d->off, d->taps, d->cnt_y,
                      d->cnt_x, phs, acc, d->batch, d->band, d->y);
}

static int pool_poly(int is_max, const float *x, long nc, long h, long w, long kh, long kw,
                     long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                     const float *cnt_y, const float *cnt_x, float *y, int threads) {
    const gk_pool_kernels *K = gk_k.pool;
    if (!gk_polyphase_on || !K->planes_poly || kh * kw > 256) return 0;
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long off[256];
    sp_taps(&g, kh, kw, dh, dw, off);
    long batch, band;
    sp_plan(&g, oh, &batch, &band);
    pool_batch d = {K, is_max, &g, x, cnt_y, cnt_x, oh, ow, kh * kw, batch, band, off, y};
    int nt = nc * oh * ow * kh * kw > 32768 ? threads : 1;
    return sp_run_batches(&g, nc, batch, band, nt, pool_planes, &d);
}

/* gk_pool2d's max pool by the level's separable kernel (dilation 1, column stride 1 or 2):
 * returns 0 (nothing done) where the level has none, the polyphase kernels are turned off or a
 * seat's scratch could not be allocated */
typedef struct {
    const gk_pool_kernels *K;
    const float *x;
    float *y;
    long h, w, kh, kw, sh, sw, ph, pw, oh, ow;
    gk_seat_bufs bufs;
    int failed;
} max_sep_job;

static void max_sep_planes(void *ctx, long p0, long p1, int seat) {
    max_sep_job *j = (max_sep_job *)ctx;
    float *buf = (float *)gk_seat_buf(&j->bufs, seat);
    if (!buf) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (long p = p0; p < p1; p++)
        j->K->max_sep(j->x + p * j->h * j->w, j->h, j->w, j->kh, j->kw, j->sh, j->sw, j->ph, j->pw,
                      j->oh, j->ow, buf, j->y + p * j->oh * j->ow);
}

static int pool_max_sep(const float *x, long nc, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow, float *y,
                        int threads) {
    const gk_pool_kernels *K = gk_k.pool;
    if (!gk_polyphase_on || !K->max_sep || dh != 1 || dw != 1 || (sw != 1 && sw != 2)) return 0;
    max_sep_job j = {K, x, y, h, w, kh, kw, sh, sw, ph, pw, oh, ow, {0, {NULL}}, 0};
    gk_seat_bufs_init(&j.bufs, (size_t)gk_max_sep_floats(w, ow, sw, kw, pw) * sizeof(float));
    gk_parallel_range(nc, threads_for_work(nc * oh * ow * kh * kw, threads), max_sep_planes, &j);
    gk_seat_bufs_free(&j.bufs);
    return !j.failed;
}

typedef struct {
    const gk_pool_kernels *K;
    int is_max;
    const float *x, *cnt_y, *cnt_x;
    float *y;
    long h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, padh, padw, hw;
    gk_seat_bufs bufs; /* the padded plane and a row of vertical maxima */
} pool_job;

/* planes [p0, p1) of the row-pass pooling */
static void pool_planes_rows(void *ctx, long p0, long p1, int seat) {
    pool_job *j = (pool_job *)ctx;
    const gk_pool_kernels *K = j->K;
    long h = j->h, w = j->w, kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, dh = j->dh;
    long dw = j->dw, ph = j->ph, pw = j->pw, oh = j->oh, ow = j->ow, padh = j->padh;
    long padw = j->padw;
    int is_max = j->is_max;
    float fill = is_max ? -INFINITY : 0.0f;
    float *p = (float *)gk_seat_buf(&j->bufs, seat);
    if (!p) return;
    float *mrow = p + padh * padw; /* max pool: the vertical maxima of a row */
    for (long pl = p0; pl < p1; pl++) {
        const float *src = j->x + pl * h * w;
        float *dst = j->y + pl * oh * ow;
        if (is_max && ph == 0 && pw == 0 && padh <= h && padw <= w) {
            /* every window lies inside the plane: read it in place */
            for (long oy = 0; oy < oh; oy++)
                K->max_row(src + oy * sh * w, w, padw, kh, kw, sw, dh, dw, ow, mrow, dst + oy * ow);
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
                K->max_row(p + oy * sh * padw, padw, padw, kh, kw, sw, dh, dw, ow, mrow, row);
            else
                K->sum_window_row(p + oy * sh * padw, padw, kh, kw, sw, dh, dw, ow, row);
            if (!is_max)
                for (long ox = 0; ox < ow; ox++) {
                    float d = j->cnt_y[oy] * j->cnt_x[ox];
                    row[ox] /= d < 1.0f ? 1.0f : d;
                }
        }
    }
}

void gk_pool2d(int is_max, const float *x, long nc, long h, long w, long kh, long kw, long sh,
               long sw, long dh, long dw, long ph, long pw, long oh, long ow, const float *cnt_y,
               const float *cnt_x, float *y, int threads) {
    if (is_max && pool_max_sep(x, nc, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, y, threads))
        return;
    if (pool_poly(is_max, x, nc, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, cnt_y, cnt_x, y,
                  threads))
        return;
    long padh = (oh - 1) * sh + (kh - 1) * dh + 1, padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    pool_job j = {gk_k.pool, is_max, x, cnt_y, cnt_x, y, h, w, kh, kw, sh, sw, dh, dw, ph, pw,
                  oh, ow, padh, padw, 0, {0, {NULL}}};
    gk_seat_bufs_init(&j.bufs, (size_t)((padh + 1) * padw) * sizeof(float));
    gk_parallel_range(nc, threads_for_work(nc * oh * ow * kh * kw, threads), pool_planes_rows, &j);
    gk_seat_bufs_free(&j.bufs);
}

static void global_avg_rows(void *ctx, long r0, long r1, int seat) {
    const pool_job *j = (const pool_job *)ctx;
    (void)seat;
    for (long r = r0; r < r1; r++) j->y[r] = gk_k.pool->row_sum(j->x + r * j->hw, j->hw) / (float)j->hw;
}

void gk_global_avg(const float *x, long nc, long hw, float *y, int threads) {
    pool_job j = {0};
    j.x = x;
    j.y = y;
    j.hw = hw;
    gk_parallel_range(nc, threads_for_work(nc * hw, threads), global_avg_rows, &j);
}
