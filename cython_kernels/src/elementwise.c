/* Element-wise drivers (see elementwise.h): flat loops split into CHUNK-element units over the
 * pool's threads (threadpool.h); the per-level row loops are in elementwise_kernels.inc. */
#include "dispatch.h"
#include "elementwise.h"
#include "isa.h"
#include "threadpool.h"

#define CHUNK 8192 /* elements per parallel work unit of the flat loops */

static int threads_for(long work, int threads) { return work < 4 * CHUNK ? 1 : threads; }

typedef struct {
    const gk_elementwise_kernels *K;
    int op, bo, bm, bi, swap;
    const float *a, *b;
    float *y;
    long mid, inner, chunks, b_inner, b_mid;
} binary_job;

/* units [u0, u1): unit u = row u / chunks, CHUNK elements from (u % chunks) * CHUNK */
static void binary_units(void *p, long u0, long u1, int seat) {
    const binary_job *j = (const binary_job *)p;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long r = u / j->chunks, i0 = (u % j->chunks) * CHUNK;
        long len = GK_MIN((long)CHUNK, j->inner - i0), o = r / j->mid, m = r % j->mid;
        const float *bp = j->b + ((j->bo ? o : 0) * j->b_mid + (j->bm ? m : 0)) * j->b_inner +
                          (j->bi ? i0 : 0);
        j->K->binary_row(j->op, j->a + r * j->inner + i0, bp, j->y + r * j->inner + i0, len,
                         j->bi, j->swap);
    }
}

void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid, long inner,
               int bo, int bm, int bi, int swap, int threads) {
    long rows = outer * mid, chunks = (inner + CHUNK - 1) / CHUNK;
    binary_job j = {gk_k.elementwise, op, bo, bm, bi, swap, a, b, y, mid, inner, chunks,
                    bi ? inner : 1, bm ? mid : 1};
    int nt = threads_for(rows * inner, threads);
    if (nt <= 1) { /* no pool call: even that costs more than a small op */
        binary_units(&j, 0, rows * chunks, 0);
        return;
    }
    gk_parallel_range(rows * chunks, nt, binary_units, &j);
}

typedef struct {
    const gk_elementwise_kernels *K;
    int op;
    const float *x, *scale, *shift;
    float *y;
    long n, c, inner;
    float lo, hi;
} unary_job;

/* CHUNK-element units [u0, u1) */
static void unary_units(void *p, long u0, long u1, int seat) {
    const unary_job *j = (const unary_job *)p;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long i0 = u * CHUNK;
        j->K->unary_row(j->op, j->x + i0, j->y + i0, GK_MIN((long)CHUNK, j->n - i0), j->lo, j->hi);
    }
}

void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads) {
    unary_job j = {gk_k.elementwise, op, x, NULL, NULL, y, n, 0, 0, lo, hi};
    long chunks = (n + CHUNK - 1) / CHUNK;
    int nt = threads_for(n, threads);
    if (nt <= 1) {
        unary_units(&j, 0, chunks, 0);
        return;
    }
    gk_parallel_range(chunks, nt, unary_units, &j);
}

/* rows [r0, r1) of the (outer * c) x inner affine */
static void affine_rows(void *p, long r0, long r1, int seat) {
    const unary_job *j = (const unary_job *)p;
    (void)seat;
    for (long r = r0; r < r1; r++)
        j->K->affine_row(j->x + r * j->inner, j->scale[r % j->c], j->shift[r % j->c],
                         j->y + r * j->inner, j->inner);
}

void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                       long outer, long c, long inner, int threads) {
    unary_job j = {gk_k.elementwise, 0, x, scale, shift, y, 0, c, inner, 0.0f, 0.0f};
    gk_parallel_range(outer * c, threads_for(outer * c * inner, threads), affine_rows, &j);
}
