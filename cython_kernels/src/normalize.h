/* Softmax and LayerNorm over the rows of a matrix (normalize.c drives them over the threads,
 * normalize_kernels.inc holds the per-level row kernels). */
#ifndef GK_NORMALIZE_H
#define GK_NORMALIZE_H

/* y[r] = softmax(x[r]) for rows of n floats */
void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads);
/* softmax over the middle axis of an (outer, n, inner) array, inner > 1: an axis that is not the
 * last, without a transpose (columns vectorised 16 at a time) */
void gk_softmax_axis(const float *x, float *y, long outer, long n, long inner, int threads);
/* per row r: mean[r], inv_std[r] = 1/sqrt(var + eps), y = ((x - mean) * inv_std) * scale + bias
 * (bias may be NULL) */
void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads);

/* LayerNormalization's VJP over rows of n (x, dy, dx: rows x n; scale: n): dx, and dscale =
 * Σ_rows dy xh, db = Σ_rows dy. Rows are summed in float within chunks of GK_LN_GRAD_ROWS rows
 * and the chunks' sums added in order in double: the same result at any thread count. partial:
 * scratch of 2 n ceil(rows / GK_LN_GRAD_ROWS) floats. */
#define GK_LN_GRAD_ROWS 64
void gk_layernorm_grad_rows(const float *dy, const float *x, const float *scale, float *dx,
                            float *dscale, float *db, float *partial, long rows, long n, float eps,
                            int threads);

/* Softmax's (log 0) or LogSoftmax's (log 1) VJP over rows of n: dx = y (dy - Σ dy y) or
 * dx = dy - exp(y) Σ dy, y the op's output. */
void gk_softmax_grad_rows(const float *dy, const float *y, float *dx, long rows, long n, int log,
                          int threads);

/* ---- per-level kernels (normalize_kernels.inc; dispatch.c selects one level's) ------------- */

typedef struct {
    void (*softmax_row)(const float *x, float *y, long n);
    void (*softmax_cols16)(const float *x, float *y, long n, long inner, int w);
    void (*layernorm_row)(const float *x, const float *scale, const float *bias, float *y, long n,
                          float eps, float *mean, float *inv_std);
    /* layernorm_row on two consecutive rows (x, y: 2 n floats; mean, inv_std: 2), the same bits;
     * NULL: the driver calls layernorm_row per row */
    void (*layernorm_row2)(const float *x, const float *scale, const float *bias, float *y, long n,
                           float eps, float *mean, float *inv_std);
    void (*layernorm_grad_row)(const float *dy, const float *x, const float *scale, float *dx,
                               long n, float eps, float *acc_s, float *acc_b);
    void (*softmax_grad_row)(const float *dy, const float *y, float *dx, long n, int log);
    /* in place: x = softmax(x * scale + mask) over a row of n (mask NULL: none); the product and
     * the sum rounded one at a time, as a Mul then an Add (attention.c) */
    void (*softmax_scaled_row)(float *x, long n, float scale, const float *mask);
    /* softmax(x * scale + mask) of `rows` rows of n floats into y (rows n apart; x == y: in
     * place): softmax_row's bits where scale is 1 and mask NULL, else softmax_scaled_row's; AVX-512
     * runs two rows side by side (attention.c's score rows, normalize.c's Softmax rows) */
    void (*softmax_scaled_rows)(const float *x, float *y, long rows, long n, float scale,
                                const float *mask);
} gk_normalize_kernels;

#endif
