/* Reductions (see reduce.h): plain C at the baseline ISA (the loops are simple enough for the
 * compiler to vectorise there; these ops are the small tails of models, not their hot spots). */
#include <math.h>

#include "isa.h"
#include "reduce.h"

#define BLOCK 256 /* inner elements per work unit of the column reductions */
#define PAR_WORK (1L << 16) /* below this many elements read, one thread */
#define LANES 8

/* NaN-propagating max/min of an accumulator a and a value v (a NaN a stays) */
#define GK_MAXSEL(a, v) ((a) != (a) || (a) > (v) ? (a) : (v))
#define GK_MINSEL(a, v) ((a) != (a) || (a) < (v) ? (a) : (v))

static float finish(int op, double sum, long n) {
    float s = (float)sum;
    return op == GK_REDUCE_MEAN ? s / (float)n : s;
}

/* one row of n contiguous values */
static float reduce_row(int op, const float *x, long n) {
    long r = 0;
    if (op == GK_REDUCE_SUM || op == GK_REDUCE_MEAN) {
        double acc[LANES] = {0};
        for (; r + LANES <= n; r += LANES)
            for (int k = 0; k < LANES; k++) acc[k] += (double)x[r + k];
        double s = 0.0;
        for (int k = 0; k < LANES; k++) s += acc[k];
        for (; r < n; r++) s += (double)x[r];
        return finish(op, s, n);
    }
    float init = op == GK_REDUCE_MAX ? -INFINITY : INFINITY, acc[LANES];
    for (int k = 0; k < LANES; k++) acc[k] = init;
    if (op == GK_REDUCE_MAX) {
        for (; r + LANES <= n; r += LANES)
            for (int k = 0; k < LANES; k++) acc[k] = GK_MAXSEL(acc[k], x[r + k]);
        for (; r < n; r++) acc[0] = GK_MAXSEL(acc[0], x[r]);
        for (int k = 1; k < LANES; k++) acc[0] = GK_MAXSEL(acc[0], acc[k]);
    } else {
        for (; r + LANES <= n; r += LANES)
            for (int k = 0; k < LANES; k++) acc[k] = GK_MINSEL(acc[k], x[r + k]);
        for (; r < n; r++) acc[0] = GK_MINSEL(acc[0], x[r]);
        for (int k = 1; k < LANES; k++) acc[0] = GK_MINSEL(acc[0], acc[k]);
    }
    return acc[0];
}

/* columns [i0, i0 + len) of one outer slice: y[i] = op_r x[r * inner + i] */
static void reduce_columns(int op, const float *x, float *y, long n, long inner, long len) {
    if (op == GK_REDUCE_SUM || op == GK_REDUCE_MEAN) {
        double acc[BLOCK];
        for (long i = 0; i < len; i++) acc[i] = 0.0;
        for (long r = 0; r < n; r++) {
            const float *row = x + r * inner;
            for (long i = 0; i < len; i++) acc[i] += (double)row[i];
        }
        for (long i = 0; i < len; i++) y[i] = finish(op, acc[i], n);
        return;
    }
    float init = op == GK_REDUCE_MAX ? -INFINITY : INFINITY;
    for (long i = 0; i < len; i++) y[i] = init;
    for (long r = 0; r < n; r++) {
        const float *row = x + r * inner;
        if (op == GK_REDUCE_MAX)
            for (long i = 0; i < len; i++) y[i] = GK_MAXSEL(y[i], row[i]);
        else
            for (long i = 0; i < len; i++) y[i] = GK_MINSEL(y[i], row[i]);
    }
}

void gk_reduce(int op, const float *x, float *y, long outer, long n, long inner, int threads) {
    long work = outer * n * inner;
    int nt = work < PAR_WORK ? 1 : threads;
    if (inner == 1) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (long o = 0; o < outer; o++) y[o] = reduce_row(op, x + o * n, n);
        return;
    }
    long blocks = (inner + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (long u = 0; u < outer * blocks; u++) {
        long o = u / blocks, i0 = (u % blocks) * BLOCK;
        reduce_columns(op, x + o * n * inner + i0, y + o * inner + i0, n, inner,
                       GK_MIN((long)BLOCK, inner - i0));
    }
}
