/* Element-wise kernels (elementwise.c drives them in chunks over the threads,
 * elementwise_kernels.inc holds the per-level row loops). */
#ifndef GK_ELEMENTWISE_H
#define GK_ELEMENTWISE_H

/* gk_binary ops. PRELU: y = a < 0 ? a * b : a (a is the full-size operand, never swapped) */
enum { GK_ADD = 0, GK_SUB = 1, GK_MUL = 2, GK_DIV = 3, GK_PRELU = 4, GK_MAX = 5, GK_MIN = 6 };
/* y[o, m, i] = a[o, m, i] (op) b[bo*o, bm*m, bi*i] (bo/bm/bi 0 or 1: broadcast flags); swap:
 * b (op) a for SUB and DIV. y may be a or b (in place). */
void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid, long inner,
               int bo, int bm, int bi, int swap, int threads);

/* gk_unary ops; lo/hi carry the parameters: CLIP lo, hi; SWISH alpha; HARDSIGMOID alpha, beta;
 * LEAKYRELU alpha. TANH, ERF, GELU_TANH and HARDSIGMOID are computed in double and rounded once
 * (as the reference); GELU (maths.h's gk_geluf: absolute error <= ~2.5e-7, a few ulp except in
 * the far negative tail; the hot activation of transformers, about 3x faster so) and HARDSWISH
 * (maths.h's gk_hardswishf, as the GEMM epilogue computes it) in float. y may be x. */
enum {
    GK_RELU = 0,
    GK_CLIP = 1,
    GK_SIGMOID = 2,
    GK_TANH = 3,
    GK_ERF = 4,
    GK_GELU = 5,
    GK_GELU_TANH = 6,
    GK_SWISH = 7,
    GK_HARDSIGMOID = 8,
    GK_HARDSWISH = 9,
    GK_LEAKYRELU = 10,
    GK_SQRT = 11, /* the three below in double, rounded once (as the reference) */
    GK_LOG = 12,
    GK_POW = 13 /* x ** lo (lo: the exponent, a float32 value; 0.5: sqrt, as numpy) */
};
void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads);

/* y[o, c, i] = x[o, c, i] * scale[c] + shift[c] (y may be x) */
void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                       long outer, long c, long inner, int threads);

/* ---- per-level kernels (elementwise_kernels.inc; dispatch.c selects one level's) ----------- */

typedef struct {
    /* y[i] = a[i] (op) b[b_vec ? i : 0] for i < n */
    void (*binary_row)(int op, const float *a, const float *b, float *y, long n, int b_vec,
                       int swap);
    void (*unary_row)(int op, const float *x, float *y, long n, float lo, float hi);
    /* y[i] = x[i] * k + b */
    void (*affine_row)(const float *x, float k, float b, float *y, long n);
    /* dx[i] = dy[i] GELU'(x[i]) (erf form) for i < n */
    void (*gelu_grad_row)(const float *dy, const float *x, float *dx, long n);
} gk_elementwise_kernels;

#endif
