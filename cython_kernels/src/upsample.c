/* Upsampling drivers (see upsample.h): ConvTranspose's col2im one output channel per thread at a
 * time, and Resize by rows over the threads; the per-level kernels are in upsample_kernels.inc. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "threads.h"
#include "upsample.h"

/* floats of work col2im needs per thread */
size_t gk_col2im_work(long sh, long sw, long oh, long ow) {
    if (sh == 1 && sw == 1) return 0;
    return (size_t)(sh * sw * ((oh + sh - 1) / sh) * ((ow + sw - 1) / sw));
}

/* y[m, oy, ox] = sum_{ky, kx} cols[m, ky, kx, iy, ix] (oy = iy*sh + ky*dh - ph, ox likewise)
 * + bias[m]; cols (c, kh, kw, h, w), y (c, oh, ow); work: threads * gk_col2im_work floats */
void gk_col2im(const float *cols, long c, long h, long w, long kh, long kw, long sh, long sw,
               long dh, long dw, long ph, long pw, long oh, long ow, const float *bias, float *y,
               float *work, int threads) {
    const gk_upsample_kernels *K = gk_k.upsample;
    size_t per = gk_col2im_work(sh, sw, oh, ow);
    long nt = threads < 1 ? 1 : threads;
    if (nt > c) nt = c;
    if ((double)c * kh * kw * h * w < 65536.0) nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long m = 0; m < c; m++) {
        int tid = gk_team_rank();
        const float *cm = cols + m * kh * kw * h * w;
        float *ym = y + m * oh * ow, *wk = work ? work + (size_t)tid * per : NULL;
        float b = bias ? bias[m] : 0.0f;
        K->col2im_channel(cm, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, b, bias != NULL, ym,
                          wk);
    }
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
    /* a nearest copy moves ~10 floats per ns; below ~1 MB of output a fork costs more */
    if ((double)rows * ow < (nearest ? 262144.0 : 16384.0)) nt = 1;
    if (nt > rows) nt = rows;
    const gk_upsample_kernels *K = gk_k.upsample;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        long tid = gk_team_rank(), n_th = gk_team_size();
        long r0 = rows * tid / n_th, r1 = rows * (tid + 1) / n_th;
        if (nearest) {
            nearest_range(x, h, w, y, oh, ow, r0, r1, th, ih, iwn, dup2, add0);
        } else {
            double *tmp = (double *)malloc(sizeof(double) * (size_t)(w > 0 ? w : 1));
            for (long r = r0; tmp && r < r1; r++) {
                long pl = r / oh, oy = r - pl * oh;
                const float *xp = x + pl * h * w;
                K->weighted_row(xp, w, oh, ow, oy, th, ih, wh, outh, tw, iw, ww, outw, extrap, tmp,
                                y + r * ow);
            }
            free(tmp);
        }
    }
}
