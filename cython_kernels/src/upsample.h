/* Upsampling: ConvTranspose's col2im (after the packed GEMM) and separable Resize (upsample.c
 * drives them, upsample_kernels.inc holds the per-level kernels). */
#ifndef GK_UPSAMPLE_H
#define GK_UPSAMPLE_H

#include <stddef.h>

/* floats of work col2im needs per thread */
size_t gk_col2im_work(long sh, long sw, long oh, long ow);
/* y[m, oy, ox] = sum_{ky, kx} cols[m, ky, kx, iy, ix] (oy = iy*sh + ky*dh - ph, ox likewise)
 * + bias[m]; cols (c, kh, kw, h, w), y (c, oh, ow); work: threads * gk_col2im_work floats */
void gk_col2im(const float *cols, long c, long h, long w, long kh, long kw, long sh, long sw,
               long dh, long dw, long ph, long pw, long oh, long ow, const float *bias, float *y,
               float *work, int threads);
/* Resize planes x (p, h, w) -> y (p, oh, ow). Per axis: t taps (0 = identity, the axis is not
 * resampled), tap-major index table i[t * out + o], weights likewise (NULL for both axes:
 * nearest, one tap) and an optional outside mask (tf_crop_and_resize: extrap there). */
void gk_resize2d(const float *x, long p, long h, long w, float *y, long oh, long ow, int th,
                 const int *ih, const double *wh, const unsigned char *outh, int tw,
                 const int *iw, const double *ww, const unsigned char *outw, double extrap,
                 int threads);

/* ---- per-level kernels (upsample_kernels.inc; dispatch.c selects one level's) -------------- */

typedef struct {
    /* one output channel of col2im: the kh*kw tap rows of cols added into y (through the phase
     * planes in work unless the stride is 1), plus the bias */
    void (*col2im_channel)(const float *cols, long h, long w, long kh, long kw, long sh, long sw,
                           long dh, long dw, long ph, long pw, long oh, long ow, float bias,
                           int has_bias, float *y, float *work);
    /* nearest: k output rows (ow apart) that read the input row xr, y = xr[iw[o]] + 0 (iw NULL:
     * identity, + 0 only if add0; dup2: iw[o] = o / 2) */
    void (*nearest_rows)(const float *xr, float *yr, long k, long w, long ow, const int *iw,
                         int dup2, int add0);
    /* one output row of a weighted resize: the H taps into tmp (double, w), then the W taps */
    void (*weighted_row)(const float *xp, long w, long oh, long ow, long oy, int th,
                         const int *ih, const double *wh, const unsigned char *outh, int tw,
                         const int *iw, const double *ww, const unsigned char *outw,
                         double extrap, double *tmp, float *yr);
} gk_upsample_kernels;

#endif
