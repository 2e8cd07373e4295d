/* Winograd F(4x4, 3x3) and F(2x2, 3x3) convolution (winograd.c drives it,
 * winograd_kernels.inc holds the per-level tile transforms). */
#ifndef GK_WINOGRAD_H
#define GK_WINOGRAD_H

#include <stddef.h>

/* Winograd F(mt x mt, 3x3), mt = 4 or 2; stride 1, dilation 1, one group. u: (mt + 2)^2 packed-A
 * matrices (Cout x Cin, gk_packed_a_size(m, c) floats each: transformed weights G g G^T);
 * work: gk_winograd_work floats (for this thread count); chunk: output tiles per pass (and per
 * thread when the threads split the tiles); res: NULL or a residual of y's layout, added after
 * the bias and before the clip. */
size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads);
void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph, long pw,
                      long oh, long ow, const float *u, long m, const float *bias, float lo,
                      float hi, int clip, float *y, float *work, long chunk, int threads,
                      const float *res);

/* the transformed weights U = G w G^T of Winograd (a = mt + 2 = 6 or 4; g: a x 3, row-major)
 * for weights w (m x c x 3 x 3), as u[a*a][m][c] */
void gk_winograd_weights(const float *w, long m, long c, long a, const double *g, float *u,
                         int threads);

/* ---- per-level kernels (winograd_kernels.inc; dispatch.c selects one level's) -------------- */

/* Each transform works on 16 tiles at once (the lanes), one packed-B panel of the GEMMs. */
typedef struct {
    /* v = B^T d B: d[r][c][lane] (6 x 6 x 16) -> position r*6 + c's lanes at v + (r*6 + c) * vs;
     * in2: 4 x 4 tiles */
    void (*input4)(const float *d, float *v, long vs);
    void (*input2)(const float *d, float *v, long vs);
    /* o = A^T m A + b, clipped: position k's lanes at m + k * ms (36 of them) ->
     * o[i*4 + j][lane]; out2: 16 -> 4 x 16 */
    void (*output4)(const float *m, long ms, float *o, float b, float lo, float hi, int clip);
    void (*output2)(const float *m, long ms, float *o, float b, float lo, float hi, int clip);
    /* NULL below AVX-512 (winograd.c then copies value by value). gather: a run of k tiles of
     * one tile row (A x A windows mt = A - 2 apart, the first at row iy, column ix of the h x w
     * plane; outside it zeros) into lanes l0 .. l0 + k - 1 of d (A x A x 16), the other lanes
     * untouched. scatter: lanes l0 .. l0 + k - 1 of o (mt x mt x 16) as k whole mt x mt tiles
     * side by side from y (rows ow apart), plus r's values (then clipped) where r is not NULL. */
    void (*gather)(const float *plane, long h, long w, long A, long iy, long ix, long l0, long k,
                   float *d);
    void (*scatter)(const float *o, long mt, long l0, long k, float *y, const float *r, long ow,
                    float lo, float hi, int clip);
} gk_winograd_kernels;

#endif
