/* The depthwise conv fused with the 1x1 conv after it on the blocked layout (nchwc.c; its own
 * header so that nchwc.h, which every SIMD level's kernels include, stays as it is). */
#ifndef GK_NCHWC_DWPW_H
#define GK_NCHWC_DWPW_H

#include "nchwc.h"

/* y = pointwise(depthwise(x)): the depthwise conv d (x blocked; + bias, clip, post; no residual)
 * and the 1x1 conv p after it (stride 1, no padding; + bias, residual p->z, clip, post into p->y,
 * blocked; its x unused) as one call: each thread computes the depthwise rows of a part of the
 * output pixels, every channel block, and the 1x1 conv of those pixels from them, so the 1x1
 * conv never reads what the other core wrote. The rows go to d->y (blocked, as the depthwise
 * conv's own result: whole rows a part) or, d->y NULL, to a band buffer of the thread's own (in
 * L2: the depthwise result never written whole). The same values as the two calls, bit for bit.
 * Returns 0, or -1 when a buffer could not be allocated. */
int gk_nchwc_depthwise_pointwise_strided(const gk_nchwc_conv_args *d, const gk_nchwc_conv_args *p,
                                         long n, int threads);
/* the same on blocked x and y (n, ., ., ., 8): the depthwise conv's geometry, bias, clip and post
 * (no residual), then the 1x1 conv's (m outputs; z laid out as y, or NULL). t: NULL (band
 * buffers), or the depthwise result's place, n * c * oh * ow floats, blocked: the rows are written
 * there, and where gk_nchwc_dwpw_fuses(oh, threads) says no, the two calls write it whole
 * (gk_nchwc_depthwise, gk_nchwc_conv). Its contents either way are the depthwise conv's result
 * (in MobileNetV2 the arena region the next expansion writes, warm: a band buffer left it cold,
 * the expansions after 1.05-1.4x slower at one thread) */
int gk_nchwc_depthwise_pointwise(const float *x, long n, long c, long h, long w, const float *dwp,
                                 long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                                 long pw, long oh, long ow, const float *dbias, float dlo,
                                 float dhi, const gk_nchwc_post *dpost, const float *pwp, long m,
                                 const float *pbias, const float *z, float plo, float phi,
                                 const gk_nchwc_post *ppost, float *t, float *y, int threads);
/* whether the fused call pays for a depthwise conv of oh output rows at this many threads: oh >=
 * gk_nchwc_dwpw_min_rows (14), at one thread oh >= gk_nchwc_dwpw_min_rows_1t (0: always;
 * measured in nchwc.c) */
int gk_nchwc_dwpw_fuses(long oh, int threads);
extern long gk_nchwc_dwpw_min_rows;
extern long gk_nchwc_dwpw_min_rows_1t;
/* a part's depthwise rows at most this many bytes (at least one row; the parts are at least
 * gk_nchwc_dwpw_pieces per thread) */
extern long gk_nchwc_dwpw_band_bytes;
extern long gk_nchwc_dwpw_pieces;

#endif
