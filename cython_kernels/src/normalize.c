/* Softmax and LayerNorm drivers (see normalize.h): rows over the OpenMP threads; the per-level
 * row kernels are in normalize_kernels.inc. */
#include "dispatch.h"
#include "normalize.h"

/* threads worth forking for `work` floats (a fork costs a few us) */
static int threads_for_work(long work, int threads) { return work < 32768 ? 1 : threads; }

void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for_work(rows * n, threads))
    for (long r = 0; r < rows; r++) gk_k.normalize->softmax_row(x + r * n, y + r * n, n);
}

void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads_for_work(rows * n, threads))
    for (long r = 0; r < rows; r++)
        gk_k.normalize->layernorm_row(x + r * n, scale, bias, y + r * n, n, eps, mean + r,
                     inv_std + r);
}
