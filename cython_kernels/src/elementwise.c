/* Element-wise drivers (see elementwise.h): flat loops split into CHUNK-element units over the
 * OpenMP threads; the per-level row loops are in elementwise_kernels.inc. */
#include "dispatch.h"
#include "elementwise.h"
#include "isa.h"

#define CHUNK 8192 /* elements per parallel work unit of the flat loops */

static int threads_for(long work, int threads) { return work < 4 * CHUNK ? 1 : threads; }

void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid, long inner,
               int bo, int bm, int bi, int swap, int threads) {
    const gk_elementwise_kernels *K = gk_k.elementwise;
    long rows = outer * mid, chunks = (inner + CHUNK - 1) / CHUNK;
    long b_inner = bi ? inner : 1, b_mid = bm ? mid : 1;
    int nt = threads_for(rows * inner, threads);
#define GK_BINARY_UNIT(u)                                                                          \
    do {                                                                                           \
        long r = (u) / chunks, i0 = ((u) % chunks) * CHUNK;                                        \
        long len = GK_MIN((long)CHUNK, inner - i0), o = r / mid, m = r % mid;                      \
        const float *bp = b + ((bo ? o : 0) * b_mid + (bm ? m : 0)) * b_inner + (bi ? i0 : 0);     \
        K->binary_row(op, a + r * inner + i0, bp, y + r * inner + i0, len, bi, swap);              \
    } while (0)
    if (nt <= 1) { /* no OpenMP region: entering one costs ~0.2 us, more than a small op */
        for (long u = 0; u < rows * chunks; u++)
            GK_BINARY_UNIT(u);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long u = 0; u < rows * chunks; u++)
        GK_BINARY_UNIT(u);
#undef GK_BINARY_UNIT
}

void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads) {
    const gk_elementwise_kernels *K = gk_k.elementwise;
    long chunks = (n + CHUNK - 1) / CHUNK;
    int nt = threads_for(n, threads);
    if (nt <= 1) {
        for (long i0 = 0; i0 < n; i0 += CHUNK)
            K->unary_row(op, x + i0, y + i0, GK_MIN((long)CHUNK, n - i0), lo, hi);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long u = 0; u < chunks; u++) {
        long i0 = u * CHUNK;
        K->unary_row(op, x + i0, y + i0, GK_MIN((long)CHUNK, n - i0), lo, hi);
    }
}

void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                       long outer, long c, long inner, int threads) {
    const gk_elementwise_kernels *K = gk_k.elementwise;
#pragma omp parallel for schedule(static) num_threads(threads_for(outer * c * inner, threads))
    for (long r = 0; r < outer * c; r++)
        K->affine_row(x + r * inner, scale[r % c], shift[r % c], y + r * inner, inner);
}
