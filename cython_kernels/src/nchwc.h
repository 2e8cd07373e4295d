/* The blocked channel layout NCHW8c (nchwc.c drives the kernels, nchwc_kernels.inc holds the
 * per-level ones): a tensor (N, C, H, W) stored as (N, C/8, H, W, 8), eight channels of one pixel
 * adjacent, so that a vector is eight channels of one pixel. Reorders at the ends of a blocked
 * chain; conv (1x1 as a broadcast GEMM, any kh x kw, an NCHW or blocked input) and depthwise conv
 * on it with the bias, residual, clip, an activation and a per-channel scale and shift in the
 * epilogue (gk_nchwc_post). C % 8 == 0 everywhere (the graph pass
 * blocks only such chains), so no padded channels exist.
 *
 * The kernels themselves take strides (in floats) for x, y and z, so the same code computes NHWC
 * (pixel stride C instead of 8): the layout micro-benchmark measures both with it. */
#ifndef GK_NCHWC_H
#define GK_NCHWC_H

#include <stddef.h>

#define GK_NCHWC_BLOCK 8

/* y (n, c/8, hw, 8) = x (n, c, hw) blocked; c % 8 == 0 */
void gk_nchwc_reorder_in(const float *x, long n, long c, long hw, float *y, int threads);
/* y (n, c, hw) = x (n, c/8, hw, 8) unblocked; c % 8 == 0 */
void gk_nchwc_reorder_out(const float *x, long n, long c, long hw, float *y, int threads);

/* Where the elements of a 4-D tensor (n, c, h, w) lie, in floats: element (i, ch, y, x) at
 * i*s_n + (ch / cblk)*s_cb + (ch % cblk) + y*s_y + x*s_x. NCHW: cblk 1, s_cb = h*w, s_y = w,
 * s_x = 1; NCHW8c: cblk 8, s_cb = h*w*8, s_y = w*8, s_x = 8; NHWC: cblk 8, s_cb = 8, s_y = w*c,
 * s_x = c. Outputs and residuals are always blocked by 8 (cblk 8). */
typedef struct {
    long cblk, s_n, s_cb, s_y, s_x;
} gk_nchwc_strides;

/* What the epilogue does after the bias, the residual and the clip (Relu, Clip): an activation
 * (maths.h's float forms, as the GEMM epilogue and the unfused element-wise kernels compute them,
 * so a fused and an unfused activation give the same bits; HardSigmoid in double, as the unfused
 * kernel), then y * scale[ch] and + shift[ch] (each rounded: a constant Mul and Add after the
 * activation, as the graph wrote them). */
enum {
    GK_NCHWC_ACT_NONE = 0,
    GK_NCHWC_ACT_HARDSWISH = 1,   /* x * clamp((x + 3) / 6, 0, 1) */
    GK_NCHWC_ACT_LEAKYRELU = 2,   /* x < 0 ? alpha x : x */
    GK_NCHWC_ACT_HARDSIGMOID = 3, /* clamp(alpha x + beta, 0, 1) */
    GK_NCHWC_ACT_SIGMOID = 4,
    GK_NCHWC_ACT_SWISH = 5, /* x * sigmoid(alpha x) */
};
typedef struct {
    int act;
    float alpha, beta;
    const float *scale, *shift; /* one per output channel, or NULL */
} gk_nchwc_post;

/* one conv (or depthwise conv) call */
typedef struct {
    const float *x;
    long c, h, w;
    gk_nchwc_strides xs;
    /* conv: per group of output blocks (fours, then the remainder; nchwc.c),
     * [c/8][kh][kw][8][blocks][8] where c is whole blocks, else [c][kh][kw][blocks][8]
     * (nchwc_kernels.inc nc_tap_w);
     * depthwise: [c/8][kh][kw][8] */
    const float *wp;
    long m, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
    const float *bias; /* m floats or NULL */
    const float *z;    /* residual laid out as y, or NULL */
    float lo, hi;      /* the clip (-inf, inf: none) */
    float *y;
    gk_nchwc_strides ys; /* y's and z's */
    gk_nchwc_post post;  /* after the clip (zero: nothing) */
} gk_nchwc_conv_args;

/* y = post(clip(conv(x, w) + bias + z)): group 1, m % 8 == 0; x NCHW or NCHW8c (x_blocked);
 * post may be NULL (nothing after the clip) */
void gk_nchwc_conv(const float *x, long n, long c, long h, long w, int x_blocked, const float *wp,
                   long m, long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw,
                   long oh, long ow, const float *bias, const float *z, float lo, float hi,
                   const gk_nchwc_post *post, float *y, int threads);
/* y = post(clip(depthwise conv(x, w) + bias + z)): c % 8 == 0, x and y NCHW8c */
void gk_nchwc_depthwise(const float *x, long n, long c, long h, long w, const float *wp, long kh,
                        long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                        long ow, const float *bias, const float *z, float lo, float hi,
                        const gk_nchwc_post *post, float *y, int threads);
/* input channel x tap pairs a 1x1 conv sums per pass over a chunk of pixels, 4.5x as many a
 * k x k conv (0: all at once) */
extern long gk_nchwc_ktaps;
/* 1 (default): a pointwise row's last 6 to 17 pixels as one or two tiles of 6 to 12 at level 2
 * (nchwc_kernels.inc nc_pw_row_n); 0: 12-pixel tiles, then 8, 4, 3, 2, 1. Same bits either way */
extern long gk_nchwc_pw_even;
/* input blocks ahead that a level-2 pointwise tile prefetches its pixels of, in passes of 8
 * blocks or more (0: none) */
extern long gk_nchwc_pw_xpf;
/* the conv's work item order (nchwc.c): 0 weights-major, 1 pixel-major, 2 pixel-major when the
 * weights take at most gk_nchwc_pixel_major_bytes, 3 (default) also when the input takes more
 * than the weights and than gk_nchwc_pixel_major_bytes */
extern long gk_nchwc_order;
extern long gk_nchwc_pixel_major_bytes;
/* how the conv and the depthwise conv share a call's work among its threads (nchwc.c): 0 (default)
 * the pool's dynamic chunks (a conv's by output blocks or pixels, the depthwise's by channel
 * blocks); 1 on one image, one part of the output pixels per thread at the same
 * fractions of the image in every layer, part p on seat p (gk_pool_run_parts), so that each
 * thread reads what its own core wrote in the layer before; 2: the conv's parts
 * only, 3: the depthwise conv's only. The results do not depend on it. */
extern long gk_nchwc_split_mode;
/* in mode 0, a depthwise conv whose input has at least this many rows runs in mode 1's row
 * parts all the same (0, the default: never; measured in nchwc.c) */
extern long gk_nchwc_dw_parts_h;
/* pieces per part in modes 1-3 (a thread done with its own part takes the others' last pieces;
 * 1-16, default 4) */
extern long gk_nchwc_split_pieces;

/* the same two on any strides (a.xs, a.ys set by the caller): the layout micro-benchmark */
void gk_nchwc_conv_strided(const gk_nchwc_conv_args *a, long n, int threads);
void gk_nchwc_depthwise_strided(const gk_nchwc_conv_args *a, long n, int threads);

/* y (n, c) = the mean of each channel over the hw pixels of x (n, c/8, hw, 8): GlobalAveragePool
 * of a blocked tensor, written unblocked (the end of a chain) */
void gk_nchwc_global_average(const float *x, long n, long c, long hw, float *y, int threads);
/* y (n, c/8, oh, ow, 8) = MaxPool of the blocked x (n, c/8, h, w, 8): the window's maximum
 * (padding never wins: an all-padding window gives -inf; NaN propagates), the geometry resolved
 * by the caller (ceil_mode, auto_pad) */
void gk_nchwc_max_pool(const float *x, long n, long c, long h, long w, long kh, long kw, long sh,
                       long sw, long dh, long dw, long ph, long pw, long oh, long ow, float *y,
                       int threads);

/* a max pool's window over the plane it reads (gk_nchwc_conv_max_pool): begin pads only, the
 * output size resolved by the caller (ceil_mode, auto_pad) */
typedef struct {
    long kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
} gk_nchwc_pool_window;

/* y (n, m/8, p.oh, p.ow, 8) = MaxPool_p(post(clip(conv(x, w) + bias))): gk_nchwc_conv without a
 * residual, then gk_nchwc_max_pool on its (n, m/8, oh, ow, 8) result, which is never written
 * whole: each thread computes the conv's rows a band of pool rows reads into a buffer of its own
 * (a few rows, in L2) and pools them there. The same values as the two calls, bit for bit.
 * Returns 0, or -1 when a buffer could not be allocated. */
int gk_nchwc_conv_max_pool(const float *x, long n, long c, long h, long w, int x_blocked,
                           const float *wp, long m, long kh, long kw, long sh, long sw, long dh,
                           long dw, long ph, long pw, long oh, long ow, const float *bias,
                           float lo, float hi, const gk_nchwc_post *post,
                           const gk_nchwc_pool_window *pool, float *y, int threads);
/* bytes of a thread's band of conv rows (all output blocks) that gk_nchwc_conv_max_pool aims
 * for (at least the rows of one pool row) */
extern long gk_nchwc_pool_band_bytes;

/* ---- per-level kernels (nchwc_kernels.inc; dispatch.c selects one level's) ----------------- */

/* a blocked max pool's geometry (gk_nchwc_max_pool): x (planes, h, w, 8) -> y (planes, oh, ow, 8) */
typedef struct {
    const float *x;
    float *y;
    long h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
} gk_nchwc_pool_args;

typedef struct {
    /* output pixels [ox0, ox1) of row oy of image i, output blocks ob0 .. ob0 + nb (nb 1..4),
     * summing the input channel blocks [cb0, cb1) (of c / x's cblk): the first range starts
     * from the bias, later ones from the partial sums in y; the last one adds z and clips */
    void (*conv_row)(const gk_nchwc_conv_args *a, long i, long ob0, int nb, long oy, long ox0,
                     long ox1, long cb0, long cb1);
    /* output rows [oy0, oy1) of channel block cb of image i */
    void (*dw_rows)(const gk_nchwc_conv_args *a, long i, long cb, long oy0, long oy1);
    /* output rows [r0, r1) of the blocked max pool (r = plane * oh + oy), the taps inside the
     * plane only; a NaN wins */
    void (*max_pool_rows)(const gk_nchwc_pool_args *a, long r0, long r1);
} gk_nchwc_kernels;

#endif
