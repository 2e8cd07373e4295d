/* Reductions (see reduce.h): plain C at the baseline ISA (the loops are simple enough for the
 * compiler to vectorise there; these ops are the small tails of models, not their hot spots). */
#include <math.h>

#include "isa.h"
#include "reduce.h"
#include "threadpool.h"

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

typedef struct {
    const float *x;
    float *y;
    int op;
    long n, inner, blocks;
} reduce_job;

/* rows [o0, o1) reduced to one value each (inner == 1) */
static void reduce_rows(void *p, long o0, long o1, int seat) {
    const reduce_job *j = (const reduce_job *)p;
    (void)seat;
    for (long o = o0; o < o1; o++) j->y[o] = reduce_row(j->op, j->x + o * j->n, j->n);
}

/* units [u0, u1): unit u is block u % blocks of BLOCK columns of row group u / blocks */
static void reduce_blocks(void *p, long u0, long u1, int seat) {
    const reduce_job *j = (const reduce_job *)p;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long o = u / j->blocks, i0 = (u % j->blocks) * BLOCK;
        reduce_columns(j->op, j->x + o * j->n * j->inner + i0, j->y + o * j->inner + i0, j->n,
                       j->inner, GK_MIN((long)BLOCK, j->inner - i0));
    }
}

void gk_reduce(int op, const float *x, float *y, long outer, long n, long inner, int threads) {
    long work = outer * n * inner;
    int nt = work < PAR_WORK ? 1 : threads;
    reduce_job j = {x, y, op, n, inner, (inner + BLOCK - 1) / BLOCK};
    long units = inner == 1 ? outer : outer * j.blocks;
    gk_range_fn fn = inner == 1 ? reduce_rows : reduce_blocks;
    if (nt > 1)
        gk_parallel_range(units, nt, fn, &j);
    else
        fn(&j, 0, units, 0);
}
