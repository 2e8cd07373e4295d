/* Softmax and LayerNorm drivers (see normalize.h): rows over the pool's threads; the per-level
 * row kernels are in normalize_kernels.inc. */
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
    for (long r = r0; r < r1; r++) gk_k.normalize->softmax_row(j->x + r * j->n, j->y + r * j->n, j->n);
}

void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads) {
    rows_job j = {x, NULL, NULL, y, NULL, NULL, n, 0.0f};
    gk_parallel_range(rows, threads_for_work(rows * n, threads), softmax_rows, &j);
}

static void layernorm_rows(void *p, long r0, long r1, int seat) {
    const rows_job *j = (const rows_job *)p;
    (void)seat;
    for (long r = r0; r < r1; r++)
        gk_k.normalize->layernorm_row(j->x + r * j->n, j->scale, j->bias, j->y + r * j->n, j->n,
                                      j->eps, j->mean + r, j->inv_std + r);
}

void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads) {
    rows_job j = {x, scale, bias, y, mean, inv_std, n, eps};
    gk_parallel_range(rows, threads_for_work(rows * n, threads), layernorm_rows, &j);
}
