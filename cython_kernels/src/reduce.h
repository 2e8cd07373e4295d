/* Reductions over one run of contiguous axes (ReduceSum/Mean/Max/Min on float32): x viewed as
 * [outer, n, inner], y as [outer, inner]. */
#ifndef GK_REDUCE_H
#define GK_REDUCE_H

enum { GK_REDUCE_SUM = 0, GK_REDUCE_MEAN = 1, GK_REDUCE_MAX = 2, GK_REDUCE_MIN = 3 };

/* y[o, i] = op_{r < n} x[o, r, i]. SUM and MEAN add in double and round the sum once to float32
 * (MEAN then divides by n in float32, as the reference); MAX and MIN propagate NaN. n == 0 gives
 * 0, NaN, -inf and +inf. */
void gk_reduce(int op, const float *x, float *y, long outer, long n, long inner, int threads);

#endif
