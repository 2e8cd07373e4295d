/* Convolution pieces besides the GEMM (conv.c drives them, conv_kernels.inc holds the per-level
 * kernels): im2col straight into packed-B panels, the depthwise conv, and the direct conv for few
 * input channels. Winograd is in winograd.h. */
#ifndef GK_CONV_H
#define GK_CONV_H

#include <stddef.h>

#include "polyphase.h"

/* Packed B (gemm.h) of the im2col matrix of one image group x (c, h, w):
 * B[(ci*kh + ky)*kw + kx, oy*ow + ox] = x[ci, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw] (0 outside). */
void gk_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh, long sw,
                    long dh, long dw, long ph, long pw, long oh, long ow, float *out, int threads);

/* One image group's conv as a GEMM, in one call: y (m x oh*ow, rows oh*ow apart) =
 * clip(packed A @ im2col(x) + bias[row] + residual) (bias, residual: NULL for none; residual has
 * y's layout), the im2col panels packed into bp (gk_packed_b_size(c*kh*kw, oh*ow) floats) by the
 * thread that multiplies them (gemm.h gk_gemm_fill_b); a 1x1 / stride-1 / unpadded conv packs the
 * plane as it is. Same bits as gk_pack_b_conv (or gk_pack_b) + gk_gemm_packed. */
void gk_conv_gemm(const float *ap, long m, const float *x, long c, long h, long w, long kh,
                  long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  float *bp, float *y, const float *bias, const float *residual, float lo,
                  float hi, int clip, int threads);

/* gk_conv_gemm over `batch` images of one group: x (batch, c, h, w), y and residual (batch, m,
 * oh*ow). Where gk_conv_gemm reads a padded copy of the input in place, one product covers every
 * image (their padded planes one under the other); elsewhere one gk_conv_gemm per image. */
void gk_conv_gemm_batch(const float *ap, long m, const float *x, long batch, long c, long h,
                        long w, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                        long pw, long oh, long ow, float *bp, float *y, const float *bias,
                        const float *residual, float lo, float hi, int clip, int threads);

/* 0 turns gk_conv_gemm's unpacked-B paths off (gemm_direct.h; for A/B timings and tests) */
extern int gk_direct_b_on;

/* bytes of packed B a thread of gk_conv_gemm's packed path packs and multiplies at a time (conv.c's
 * conv_fill_blocks; 0: its whole block at once). The same bits at any setting. */
extern long gk_conv_fill_bytes;
/* the same for a conv of K = c kh kw >= GK_CONV_FILL_DEEP_K (a 3x3 of 64 channels and up, its
 * packed A a large share of L2 beside the run; 0: gk_conv_fill_bytes). The same bits. */
extern long gk_conv_fill_deep_bytes;
#define GK_CONV_FILL_DEEP_K 576

/* How gk_conv_gemm (batch 1) / gk_conv_gemm_batch reads the conv's B (m output channels, one
 * group, residual: whether the epilogue adds one): 0 packed panels, 1 the input planes in place
 * (1x1 unpadded), 2 a zero-padded copy of the input in place. For tests and benchmarks. */
int gk_conv_direct_b_mode(long m, long batch, long c, long h, long w, long kh, long kw, long sh,
                          long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                          int residual);

/* y[n, c] = clip(bias[c] + sum_{ky,kx} wt[c, ky, kx] * xpad[n, c, oy*sh + ky*dh, ox*sw + kx*dw]).
 * Two implementations, by plane size: small planes (a batch of them fits in L1) go through
 * polyphase planes, whole planes one vector at a time (levels 1 and 2); larger planes, and every
 * plane at the generic level, a zero-padded plane and one output row at a time (3x3 stride 1 and
 * 2, k x k stride 1, anything else), which keeps the padded plane and the rows in L1: the
 * polyphase path measured no faster there (MobileNetV2 112x112: 0.35 -> 0.42 ms). */
void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
                  long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  const float *bias, float lo, float hi, int clip, float *y, int threads);

/* floats of work gk_conv_direct needs */
size_t gk_conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw, long dh,
                           long dw, long ph, long pw, long oh, long ow);
/* Direct conv, one group, few input channels (the stem of an image model):
 * y[n, o] = clip(bias[o] + sum_{ci,ky,kx} wt_t[(ci*kh + ky)*kw + kx, o] * xpad[n, ci, ...]),
 * wt_t the (C*kh*kw) x ldw transposed weights, ldw a multiple of 16 at least m (columns m.. are
 * zeros); work: gk_conv_direct_work floats. Output pixels go in the vector lanes (a tap's
 * consecutive output pixels are consecutive floats of its phase plane), each tap's weight is
 * broadcast per output channel: a register tile is 4 channels x up to 6 (AVX-512) / 3 (AVX2)
 * pixel vectors, stored straight into the NCHW rows (no transpose).
 * Returns 0 (nothing done) at the generic level or when turned off (gk_polyphase_on); the caller
 * then runs im2col and the GEMM. */
int gk_conv_direct(const float *x, long n, long c, long h, long w, const float *wt_t, long m,
                   long ldw, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                   long pw, long oh, long ow, const float *bias, float lo, float hi, int clip,
                   float *y, float *work, int threads);

/* floats of work gk_conv_cvec needs: the gathered taps of every output pixel, and the bias */
size_t gk_conv_cvec_work(long n, long c, long kh, long kw, long oh, long ow, long m);

/* y = clip(conv(x, w) + bias) for one group, for small output planes (an audio model's few
 * frames, a 3x3 or 1x1 plane at a network's end), where im2col's GEMM would fill a few of its
 * vectors' lanes with a plane's pixels: here the output channels are in the lanes. The taps of
 * every output pixel are gathered (zeros where padding), then each tile of pixels x channel
 * vectors sums them with wp, the weights in panels of 16 output channels ((m + 15) / 16 panels
 * of C*kh*kw rows of 16 floats, zeros past m: one panel's rows are adjacent, so a tile streams
 * its weights in order): the bias first, then the taps in order (channel, row, column). Returns
 * 0 (nothing done) at the generic level. */
int gk_conv_cvec(const float *x, long n, long c, long h, long w, const float *wp, long m, long kh,
                 long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                 const float *bias, float lo, float hi, int clip, float *y, float *work,
                 int threads);

/* ---- per-level kernels (conv_kernels.inc; dispatch.c selects one level's) ------------------ */

typedef struct {
    /* one output row of a 3x3 depthwise conv, stride 1, dilation 1, over padded rows r0..r2 */
    void (*dw3x3_row)(const float *r0, const float *r1, const float *r2, const float *wc, float b,
                      float lo, float hi, int clip, long ow, float *row);
    /* the same, stride 2 (rows padw = 2 ow + 1 wide: one float past a row is read); NULL at the
     * generic level (dw_plane runs it) */
    void (*dw3x3s2_row)(const float *r0, const float *r1, const float *r2, const float *wc,
                        float b, float lo, float hi, int clip, long ow, float *row);
    /* one output row of any kh x kw, stride 1, dilation 1 (rows padw apart); NULL at generic */
    void (*dwk_row)(const float *r, long padw, long kh, long kw, const float *wc, float b,
                    float lo, float hi, int clip, long ow, float *row);
    /* a whole output plane of any geometry from a padded plane p (padw wide) */
    void (*dw_plane)(const float *p, long padw, const float *wc, long kh, long kw, long sh,
                     long sw, long dh, long dw, long oh, long ow, float b, float lo, float hi,
                     int clip, float *y);
    /* polyphase (NULL at generic): depthwise planes p0..p1 of x (n*c planes) into y, taps at
     * off[0:taps] in the phases (lo/hi always applied); batch planes per pass or bands of rows */
    void (*dw_planes_poly)(const sp_geo *g, const float *x, long p0, long p1, long c,
                           const float *wt, const float *bias, float lo, float hi, long oh,
                           long ow, const long *off, long taps, float *phs, float *acc,
                           long batch, long band, float *y);
    /* polyphase (NULL at generic): row phase a of one plane's phases; output row oy of every
     * channel of the direct conv */
    void (*poly_build_rows)(const sp_geo *g, const float *src, float *phs, float fill, long a);
    void (*direct_row)(const sp_geo *g, const float *phs, const long *off, long k,
                       const float *wt, long ldw, long m, const float *bias, float lo, float hi,
                       long oy, long oh, long ow, float *y);
    /* gk_conv_cvec's output channels [o0, o1) (o0 a multiple of 16) of a batch's output pixels
     * [g0, g1) (p per image) from their gathered taps r (rows of k), weights in panels of 16
     * channels, into the NCHW y of m channels (NULL at generic) */
    void (*cvec_rows)(const float *r, long g0, long g1, long p, long k, const float *wp, long m,
                      const float *bp, float lo, float hi, long o0, long o1, float *y);
    /* one im2col panel's rows (NULL: conv.c's per-lane loop): for each channel ci < c (planes hw
     * floats apart) and tap t < taps, 16 floats of dst (then the next 16) = plane ci at the
     * offsets o32[16 t + l] (-1: 0.0f); dense[t]: the 16 are consecutive from offs[16 t] */
    void (*im2col_lanes)(const float *x, long c, long hw, long taps, const long *offs,
                         const int *o32, const int *dense, float *dst);
} gk_conv_kernels;

#endif
