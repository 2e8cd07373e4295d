/* Softmax and LayerNorm drivers (see normalize.h): rows over the pool's threads; the per-level
 * row kernels are in normalize_kernels.inc. */
#include <string.h>

#include "dispatch.h"
#include "normalize.h"
#include "threadpool.h"

/* threads worth a pool call for `work` floats (one costs about a microsecond) */
static int threads_for_work(long work, int threads) { return work < 32768 ? 1 : threads; }

typedef struct {
    const float *x, *scale, *bias;
    float *y, *mean, *inv_std;
    long n;
    float eps;
} rows_job;

static void softmax_rows(void *p, long r0, long r1, int seat) {
    const rows_job *j = (const rows_job *)p;
    (void)seat;
    gk_k.normalize->softmax_scaled_rows(j->x + r0 * j->n, j->y + r0 * j->n, r1 - r0, j->n, 1.0f,
                                        NULL);
}

void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads) {
    rows_job j = {x, NULL, NULL, y, NULL, NULL, n, 0.0f};
    gk_parallel_range(rows, threads_for_work(rows * n, threads), softmax_rows, &j);
}

typedef struct {
    const float *x;
    float *y;
    long n, inner, blocks; /* blocks: 16-column blocks per outer index */
} axis_job;

static void softmax_axis_blocks(void *p, long b0, long b1, int seat) {
    const axis_job *j = (const axis_job *)p;
    (void)seat;
    for (long b = b0; b < b1; b++) {
        long o = b / j->blocks, c = (b % j->blocks) * 16, off = o * j->n * j->inner + c;
        long w = j->inner - c < 16 ? j->inner - c : 16;
        gk_k.normalize->softmax_cols16(j->x + off, j->y + off, j->n, j->inner, (int)w);
    }
}

void gk_softmax_axis(const float *x, float *y, long outer, long n, long inner, int threads) {
    axis_job j = {x, y, n, inner, (inner + 15) / 16};
    gk_parallel_range(outer * j.blocks, threads_for_work(outer * n * inner, threads),
                      softmax_axis_blocks, &j);
}

static void layernorm_rows(void *p, long r0, long r1, int seat) {
    const rows_job *j = (const rows_job *)p;
    long r = r0;
    (void)seat;
    if (gk_k.normalize->layernorm_row2)
        for (; r + 2 <= r1; r += 2)
            gk_k.normalize->layernorm_row2(j->x + r * j->n, j->scale, j->bias, j->y + r * j->n,
                                           j->n, j->eps, j->mean + r, j->inv_std + r);
    for (; r < r1; r++)
        gk_k.normalize->layernorm_row(j->x + r * j->n, j->scale, j->bias, j->y + r * j->n, j->n,
                                      j->eps, j->mean + r, j->inv_std + r);
}

void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads) {
    rows_job j = {x, scale, bias, y, mean, inv_std, n, eps};
    gk_parallel_range(rows, threads_for_work(rows * n, threads), layernorm_rows, &j);
}

typedef struct {
    const float *dy, *x, *scale;
    float *dx, *partial;
    long rows, n;
    float eps;
} ln_grad_job;

/* chunks [c0, c1) of GK_LN_GRAD_ROWS rows; chunk k's dscale and db sums go to partial[2 n k ...] */
static void layernorm_grad_chunks(void *p, long c0, long c1, int seat) {
    const ln_grad_job *j = (const ln_grad_job *)p;
    long n = j->n;
    (void)seat;
    for (long k = c0; k < c1; k++) {
        float *acc_s = j->partial + 2 * n * k, *acc_b = acc_s + n;
        memset(acc_s, 0, (size_t)(2 * n) * sizeof(float));
        long end = (k + 1) * GK_LN_GRAD_ROWS < j->rows ? (k + 1) * GK_LN_GRAD_ROWS : j->rows;
        for (long r = k * GK_LN_GRAD_ROWS; r < end; r++)
            gk_k.normalize->layernorm_grad_row(j->dy + r * n, j->x + r * n, j->scale,
                                               j->dx + r * n, n, j->eps, acc_s, acc_b);
    }
}

void gk_layernorm_grad_rows(const float *dy, const float *x, const float *scale, float *dx,
                            float *dscale, float *db, float *partial, long rows, long n, float eps,
                            int threads) {
    ln_grad_job j = {dy, x, scale, dx, partial, rows, n, eps};
    long chunks = (rows + GK_LN_GRAD_ROWS - 1) / GK_LN_GRAD_ROWS;
    gk_parallel_range(chunks, threads_for_work(rows * n, threads), layernorm_grad_chunks, &j);
    for (long i = 0; i < n; i++) {
        double s = 0.0, b = 0.0;
        for (long k = 0; k < chunks; k++) {
            s += partial[2 * n * k + i];
            b += partial[2 * n * k + n + i];
        }
        dscale[i] = (float)s;
        db[i] = (float)b;
    }
}

typedef struct {
    const float *dy, *y;
    float *dx;
    long n;
    int log;
} softmax_grad_job;

static void softmax_grad_rows(void *p, long r0, long r1, int seat) {
    const softmax_grad_job *j = (const softmax_grad_job *)p;
    (void)seat;
    for (long r = r0; r < r1; r++)
        gk_k.normalize->softmax_grad_row(j->dy + r * j->n, j->y + r * j->n, j->dx + r * j->n, j->n,
                                         j->log);
}

void gk_softmax_grad_rows(const float *dy, const float *y, float *dx, long rows, long n, int log,
                          int threads) {
    softmax_grad_job j = {dy, y, dx, n, log};
    gk_parallel_range(rows, threads_for_work(rows * n, threads), softmax_grad_rows, &j);
}
