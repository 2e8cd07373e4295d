/* Declarations of the convolution / element-wise extensions (winograd.c, elementwise.c, conv.c)
 * that sit beside gk.h: more unary ops, PRelu, Winograd F(4x4, 3x3), data movement. */
#ifndef GKX_H
#define GKX_H

#include "gk.h"

/* gk_unary op codes after GK_RELU / GK_CLIP / GK_SIGMOID (gk.h). lo/hi carry the parameters:
 * SWISH alpha; HARDSIGMOID alpha, beta; LEAKYRELU alpha. TANH, ERF, GELU, GELU_TANH and
 * HARDSWISH are computed in double and rounded once (as the reference). */
enum {
    GK_TANH = 3,
    GK_ERF = 4,
    GK_GELU = 5,
    GK_GELU_TANH = 6,
    GK_SWISH = 7,
    GK_HARDSIGMOID = 8,
    GK_HARDSWISH = 9,
    GK_LEAKYRELU = 10
};
/* gk_binary op code: y = a < 0 ? a * b : a (a is the full-size operand, never swapped) */
enum { GK_PRELU = 4 };

/* Winograd F(mt x mt, 3x3), mt = 4 or 2; stride 1, dilation 1, one group. u: (mt + 2)^2 packed-A
 * matrices (Cout x Cin, gk_packed_a_size(m, c) floats each: transformed weights G g G^T);
 * work: gk_winograd_work floats (for this thread count); chunk: output tiles per pass (and per
 * thread when the threads split the tiles); res: NULL or a residual of y's layout, added after
 * the bias and before the clip. */
size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads);
void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph, long pw,
                      long oh, long ow, const float *u, long m, const float *bias, float lo,
                      float hi, int clip, float *y, float *work, long chunk, int threads,
                      const float *res);

/* the transformed weights U = G w G^T of Winograd (a = mt + 2 = 6 or 4; g: a x 3, row-major)
 * for weights w (m x c x 3 x 3), as u[a*a][m][c] */
void gk_winograd_weights(const float *w, long m, long c, long a, const double *g, float *u,
                         int threads);

#endif
