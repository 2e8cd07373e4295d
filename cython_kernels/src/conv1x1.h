/* A 1x1, stride-1, unpadded conv of one image as C[M,N] = epilogue(packed A @ X), X its input
 * planes (K = input channels rows of N = H*W pixels, read where they lie: no packed copy of B).
 * conv1x1.c drives it (threads, the rule of which convs take it), conv1x1_kernels.inc holds the
 * per-level kernels: each column tile of X (2 vectors wide) is copied, one K block at a time,
 * into a contiguous thread-local stage that stays in L1 while every row tile of the M block
 * reads it (the planes' rows are N floats apart: at 56x56, 12.5 KiB, so a column tile's 256 rows
 * in place fall on 32 L1 sets and 256 pages, and the packed path writes and rereads a 3.2 MB
 * copy), while the next column tile's rows are prefetched into L2. Row tiles of 12 (AVX-512) or
 * 6 (AVX2) rows, cut to the rows there are (M = 64: five of 12 and one of 4, not six of 12).
 * Every element is the same sum over K in the same order (K blocks of gemm.h's gk_gemm_kc) as
 * the packed GEMM's, then gemm.h's epilogue: the bits of gk_conv_gemm's packed path. */
#ifndef GK_CONV1X1_H
#define GK_CONV1X1_H

#include "gemm.h"

/* which 1x1 convs gk_conv1x1 takes: 0 none, 1 those its rule picks, 2 every one (tests) */
extern int gk_conv1x1_on;

/* 1 where the rule in force would run this m x n x k conv on gk_conv1x1 (and the level has the
 * kernel) */
int gk_conv1x1_takes(long m, long n, long k);

/* C[m, n] (row stride n) = epilogue(packed A @ X), X[kk, j] = x[kk * n + j]. Returns 0 where
 * gk_conv1x1_takes says no (C untouched) or a thread's stage could not be allocated (C partly
 * written): the caller then takes its other paths, which write all of C. */
int gk_conv1x1(long m, long n, long k, const float *ap, const float *x, float *c,
               const gk_epilogue *ep, int threads);

/* ---- small planes: the output channels in the vector lanes (gk_conv1x1_cvec) --------------
 * The same conv as C^T = X^T W^T: tiles of 6 pixels x 64 output channels (4 zmm), each pixel's
 * input value broadcast from the planes where they lie, the weights in panels of 64 output
 * channels (gk_conv1x1_cvec_pack) streamed once per call, while the GEMM's narrow path puts the
 * pixels in the lanes (49 pixels in 64 lanes at 7x7, 196 in 224 at 14x14) and packs them first.
 * Every element is the packed GEMM's sum: K in its blocks (gk_gemm_kc), each block's products
 * accumulated from zero in K order (an accumulator spilled and reloaded between K slices keeps
 * its bits), added to the sum of the blocks before, then bias, residual and clip in its order:
 * the bits of gk_conv_gemm. AVX-512 only (the rule says no elsewhere). */

/* which 1x1 convs gk_conv1x1_cvec_takes picks: 0 none, 1 the rule's, 2 every one (tests); the
 * rule's largest plane (pixels) */
extern int gk_conv1x1_cvec_on;
extern long gk_conv1x1_cvec_max_n;

/* 1 where the m x n x k conv (n pixels) should run on gk_conv1x1_cvec (switch, rule, level) */
int gk_conv1x1_cvec_takes(long m, long n, long k);

/* floats of gk_conv1x1_cvec_pack's panels for an m x k weight */
size_t gk_conv1x1_cvec_size(long m, long k);

/* W (m x k, rows of k) as panels of 64 output channels: panel q (channels [64 q, 64 q + w), w
 * = min(64, m - 64 q) rounded up to 16, zeros past m) is k rows of w floats at 64 q k */
void gk_conv1x1_cvec_pack(const float *w, long m, long k, float *out);

/* C[m, n] = clip(W @ X + bias + residual) (X: k rows of n floats; bias / residual may be NULL;
 * clip only where `clip`), wp the packed panels. Returns 0 (C untouched) where the level has
 * no kernel, or C partly written where a thread's buffers could not be allocated. */
int gk_conv1x1_cvec(long m, long n, long k, const float *wp, const float *x, float *c,
                    const float *bias, const float *residual, float lo, float hi, int clip,
                    int threads);

/* what gk_conv1x1_cvec fetches ahead into L2 (bits of its flags, all on by default), and the
 * split between threads (the bits do not depend on any of them) */
#define GK_CVEC_PF_W 1     /* the next K slice's weights */
#define GK_CVEC_PF_X 2     /* the next K slice's input rows */
#define GK_CVEC_PF_C 4     /* in the last K block, C's and the residual's rows of the panel */
#define GK_CVEC_SPLIT_P 8  /* threads split the pixels even where the panels share out (A/B) */

/* the K slice (rows) a tile's accumulators run over before the next pixel tile (ks > 0 sets
 * it), and the flags above (flags >= 0 sets them); old[0], old[1]: the previous values */
void gk_conv1x1_cvec_tune(long ks, long flags, long *old);

/* ---- per-level kernels (conv1x1_kernels.inc; dispatch.c selects one level's) -------------- */

typedef struct {
    long m, n, k;
    const float *ap, *x;
    float *c;
    const gk_epilogue *ep;
    long kc, mc;
} gk_conv1x1_args;

typedef struct {
    long m, n, k, kc, ks, flags;
    const float *wp, *x;
    float *c;
    const float *bias, *residual;
    float lo, hi;
    int clip;
} gk_conv1x1_cvec_args;

typedef struct {
    /* columns of C per column tile (2 vectors) */
    long col_unit;
    /* C[m0:m1, n0:n1] (m0 a multiple of GK_MR, n0 of col_unit); 0 where its thread's stage
     * could not be allocated; NULL at the generic level */
    int (*block)(const gk_conv1x1_args *g, long m0, long m1, long n0, long n1);
    /* gk_conv1x1_cvec's output channel panels [q0, q1) at pixels [p0, p1); 0 where its thread's
     * buffers could not be allocated; NULL but at AVX-512 */
    int (*cvec)(const gk_conv1x1_cvec_args *g, long q0, long q1, long p0, long p1);
} gk_conv1x1_kernels;

#endif
