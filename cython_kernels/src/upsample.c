/* Upsampling drivers (see upsample.h): ConvTranspose's col2im one output channel per thread at a
 * time, and Resize by rows over the pool's threads; the per-level kernels are in
 * upsample_kernels.inc. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "threadpool.h"
#include "upsample.h"

/* floats of work col2im needs per thread */
size_t gk_col2im_work(long sh, long sw, long oh, long ow) {
    if (sh == 1 && sw == 1) return 0;
    return (size_t)(sh * sw * ((oh + sh - 1) / sh) * ((ow + sw - 1) / sw));
}

/* y[m, oy, ox] = sum_{ky, kx} cols[m, ky, kx, iy, ix] (oy = iy*sh + ky*dh - ph, ox likewise)
 * + bias[m]; cols (c, kh, kw, h, w), y (c, oh, ow); work: threads * gk_col2im_work floats */
typedef struct {
    const float *cols, *bias, *x;
    long h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
    float *y, *work;
    size_t per;
    /* resize */
    int th, tw, dup2, add0, nearest;
    const int *ih, *iw, *iwn;
    const double *wh, *ww;
    const unsigned char *outh, *outw;
    double extrap;
    gk_seat_bufs bufs;
} upsample_job;

/* output channels [m0, m1); seat's share of `work` */
static void col2im_channels(void *ctx, long m0, long m1, int seat) {
    const upsample_job *j = (const upsample_job *)ctx;
    long plane = j->kh * j->kw * j->h * j->w;
    for (long m = m0; m < m1; m++) {
        float *wk = j->work ? j->work + (size_t)seat * j->per : NULL;
        float b = j->bias ? j->bias[m] : 0.0f;
        gk_k.upsample->col2im_channel(j->cols + m * plane, j->h, j->w, j->kh, j->kw, j->sh, j->sw,
                                      j->dh, j->dw, j->ph, j->pw, j->oh, j->ow, b,
                                      j->bias != NULL, j->y + m * j->oh * j->ow, wk);
    }
}

void gk_col2im(const float *cols, long c, long h, long w, long kh, long kw, long sh, long sw,
               long dh, long dw, long ph, long pw, long oh, long ow, const float *bias, float *y,
               float *work, int threads) {
    long nt = threads < 1 ? 1 : threads;
    if (nt > c) nt = c;
    if ((double)c * kh * kw * h * w < 65536.0) nt = 1;
    upsample_job j = {0};
    j.cols = cols, j.bias = bias, j.h = h, j.w = w, j.kh = kh, j.kw = kw, j.sh = sh, j.sw = sw;
    j.dh = dh, j.dw = dw, j.ph = ph, j.pw = pw, j.oh = oh, j.ow = ow, j.y = y, j.work = work;
    j.per = gk_col2im_work(sh, sw, oh, ow);
    gk_parallel_range(c, (int)nt, col2im_channels, &j);
}


/* rows r0..r1 (of p * oh) of a nearest resize */
static void nearest_range(const float *x, long h, long w, float *y, long oh, long ow, long r0,
                          long r1, int th, const int *ih, const int *iw, int dup2, int add0) {
    const gk_upsample_kernels *K = gk_k.upsample;
    long pl = r0 / oh, oy = r0 - pl * oh;
    for (long r = r0; r < r1;) {
        long src = th ? ih[oy] : oy, k = 1;
        while (th && r + k < r1 && oy + k < oh && ih[oy + k] == src) k++;
        const float *xr = x + (pl * h + src) * w;
        float *yr = y + r * ow;
        K->nearest_rows(xr, yr, k, w, ow, iw, dup2, add0);
        r += k;
        oy += k;
        if (oy == oh) {
            oy = 0;
            pl++;
        }
    }
}

/* output rows [r0, r1) (of p * oh) of a resize */
static void resize_rows(void *ctx, long r0, long r1, int seat) {
    upsample_job *j = (upsample_job *)ctx;
    long h = j->h, w = j->w, oh = j->oh, ow = j->ow;
    if (j->nearest) {
        nearest_range(j->x, h, w, j->y, oh, ow, r0, r1, j->th, j->ih, j->iwn, j->dup2, j->add0);
        return;
    }
    double *tmp = (double *)gk_seat_buf(&j->bufs, seat);
    for (long r = r0; tmp && r < r1; r++) {
        long pl = r / oh, oy = r - pl * oh;
        gk_k.upsample->weighted_row(j->x + pl * h * w, w, oh, ow, oy, j->th, j->ih, j->wh, j->outh,
                                    j->tw, j->iw, j->ww, j->outw, j->extrap, tmp, j->y + r * ow);
    }
}

/* Resize planes x (p, h, w) -> y (p, oh, ow). Per axis: t taps (0 = identity, the axis is not
 * resampled), tap-major index table i[t * out + o], weights likewise (NULL for both axes:
 * nearest, one tap) and an optional outside mask (tf_crop_and_resize: extrap there). */
void gk_resize2d(const float *x, long p, long h, long w, float *y, long oh, long ow, int th,
                 const int *ih, const double *wh, const unsigned char *outh, int tw,
                 const int *iw, const double *ww, const unsigned char *outw, double extrap,
                 int threads) {
    long rows = p * oh;
    if (rows <= 0 || ow <= 0) return;
    int nearest = wh == NULL && ww == NULL;
    int add0 = th != 0 || tw != 0;
    int dup2 = 0;
    if (nearest && tw == 1 && ow == 2 * w) {
        dup2 = 1;
        for (long o = 0; o < ow && dup2; o++) dup2 = iw[o] == (int)(o >> 1);
    }
    const int *iwn = tw ? iw : NULL;
    long nt = threads < 1 ? 1 : threads;
    /* a nearest copy moves ~10 floats per ns; below ~1 MB of output a second thread costs more */
    if ((double)rows * ow < (nearest ? 262144.0 : 16384.0)) nt = 1;
    if (nt > rows) nt = rows;
    upsample_job j = {0};
    j.x = x, j.h = h, j.w = w, j.y = y, j.oh = oh, j.ow = ow, j.th = th, j.tw = tw, j.ih = ih;
    j.iw = iw, j.iwn = iwn, j.wh = wh, j.ww = ww, j.outh = outh, j.outw = outw;
    j.extrap = extrap, j.dup2 = dup2, j.add0 = add0, j.nearest = nearest;
    gk_seat_bufs_init(&j.bufs, sizeof(double) * (size_t)(w > 0 ? w : 1));
    gk_parallel_range(rows, (int)nt, resize_rows, &j);
    gk_seat_bufs_free(&j.bufs);
}
