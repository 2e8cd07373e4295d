/* Winograd F(4x4, 3x3) and F(2x2, 3x3) convolution (stride 1, dilation 1, one group) on the
 * packed GEMM. Described for F(4x4, 3x3); F(2x2, 3x3) is the same with 2x2 tiles, 16 positions.
 *
 * Per image and chunk of output tiles (4x4 each): the input is gathered 16 tiles at a time (one
 * packed-B panel; the padding read as zeros, no padded copy), transformed (B^T d B, 36 values per
 * tile and channel) straight into 36 packed-B matrices (K = Cin, N = tiles); 36 GEMMs with the
 * transformed weights (packed once at prepare, U = G g G^T) give M; the output transform
 * (A^T M A) adds the bias, clips and scatters the 4x4 tiles. 36 multiplies per 16 outputs instead
 * of 144 (F(2x2, 3x3): 16 per 4 instead of 36), paid for with the transforms, which are
 * memory-bound.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "gemm.h"
#include "isa.h"
#include "threadpool.h"
#include "winograd.h"

#define WL GK_NR /* tiles per panel (lanes of the transforms) */

static long round16(long v) { return (v + WL - 1) / WL * WL; }

/* floats of one tile chunk's buffers (V and M) for at most ct tiles */
static size_t chunk_floats(long mt, long c, long m, long ct) {
    long a = mt + 2;
    return (size_t)(a * a) * (size_t)(c + m) * (size_t)round16(ct);
}

size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads) {
    long tiles = ((oh + mt - 1) / mt) * ((ow + mt - 1) / mt);
    long ct = round16(GK_MIN(tiles, chunk));
    return (size_t)GK_MAX(threads, 1) * chunk_floats(mt, c, m, ct);
}

typedef struct {
    long mt, c, m, h, w, ph, pw, tw, oh, ow;
    const float *x; /* the image (c x h x w); the padding is read as zeros by the gather */
    const float *u;  /* (mt + 2)^2 packed transformed weights, asz floats apart */
    size_t asz;
    const float *bias;
    float lo, hi;
    int clip;
    float *y;          /* the image's output (m x oh x ow) */
    const float *res;  /* NULL, or the residual added before the clip (m x oh x ow) */
} wino_job;

/* one call of wino_tiles' phases */
typedef struct {
    const wino_job *j;
    long t0, nt, ntp;
    float *vb, *mb;
} wino_phase;

/* one lane's tile: its window's first input row and column (iy, ix: the padding's rows and
 * columns are negative or past the image), whether that window lies inside the image, where its
 * output starts and how many of its output rows / columns lie inside the plane */
typedef struct {
    long iy, ix, out, rows, cols;
    int inside;
} wino_tile;

/* panel p's tiles; returns how many of its WL lanes hold one (the rest are the chunk's zero
 * padding). Once per panel, not per channel: the division by the tile row length and the
 * offsets cost more than a lane's copy. */
static long panel_tiles(const wino_phase *f, long p, wino_tile *tl) {
    const wino_job *j = f->j;
    long mt = j->mt, a = mt + 2, n = GK_MIN((long)WL, f->nt - p * WL);
    long t = f->t0 + p * WL, ty = t / j->tw, tx = t % j->tw;
    for (long l = 0; l < n; l++) {
        wino_tile *e = tl + l;
        e->iy = ty * mt - j->ph;
        e->ix = tx * mt - j->pw;
        e->inside = e->iy >= 0 && e->ix >= 0 && e->iy + a <= j->h && e->ix + a <= j->w;
        e->out = ty * mt * j->ow + tx * mt;
        e->rows = GK_MIN(mt, j->oh - ty * mt);
        e->cols = GK_MIN(mt, j->ow - tx * mt);
        if (++tx == j->tw) tx = 0, ty++;
    }
    return n;
}

/* d[r][q][l] = the A x A window of lane l's tile in the plane (h x w; outside it, the padding,
 * zeros) for the n lanes. Windows inside the image are copied straight (A is a constant at each
 * call site, so the copy unrolls: one load and one store a value); the values are those of a
 * zero-padded copy of the plane, which the gather no longer needs. */
static inline void gather_tiles(const float *plane, const wino_tile *tl, long n, long h, long w,
                                long A, float *d) {
    for (long l = 0; l < n; l++) {
        const wino_tile *e = tl + l;
        if (e->inside) {
            const float *s = plane + e->iy * w + e->ix;
            for (long r = 0; r < A; r++)
                for (long q = 0; q < A; q++) d[(r * A + q) * WL + l] = s[r * w + q];
            continue;
        }
        for (long r = 0; r < A; r++)
            for (long q = 0; q < A; q++) {
                long y = e->iy + r, x = e->ix + q;
                int in = y >= 0 && y < h && x >= 0 && x < w;
                d[(r * A + q) * WL + l] = in ? plane[y * w + x] : 0.0f;
            }
    }
}

/* input transform of (panel, channel) pairs [q0, q1) into vb */
static void wino_input(void *ctx, long q0, long q1, int seat) {
    const wino_phase *f = (const wino_phase *)ctx;
    const wino_job *j = f->j;
    long mt = j->mt, c = j->c, a = mt + 2, a2 = a * a, ntp = f->ntp;
    const gk_winograd_kernels *K = gk_k.winograd;
    wino_tile tl[WL];
    long at = -1, n = 0;
    (void)seat;
    for (long pc = q0; pc < q1; pc++) {
        float d[36 * WL];
        long p = pc / c, ci = pc % c;
        if (p != at) n = panel_tiles(f, p, tl), at = p;
        const float *plane = j->x + ci * j->h * j->w;
        if (K->gather) { /* AVX-512: each run of one tile row's tiles as a few vector rows */
            for (long l = 0, k; l < n; l += k) {
                for (k = 1; l + k < n && tl[l + k].iy == tl[l].iy;) k++;
                K->gather(plane, j->h, j->w, a, tl[l].iy, tl[l].ix, l, k, d);
            }
        } else if (mt == 4) {
            gather_tiles(plane, tl, n, j->h, j->w, 6, d);
        } else {
            gather_tiles(plane, tl, n, j->h, j->w, 4, d);
        }
        for (long l = n; l < WL; l++) /* the lanes past the chunk's tiles */
            for (long i = 0; i < a2; i++) d[i * WL + l] = 0.0f;
        /* straight into the packed B matrices: panel p, channel ci of each position's */
        float *v = f->vb + p * c * WL + ci * WL;
        mt == 4 ? K->input4(d, v, c * ntp) : K->input2(d, v, c * ntp);
    }
}

/* GEMMs [k0, k1) of the a2: M[k] (m x ntp) = U[k] @ V[k] */
static void wino_gemms(void *ctx, long k0, long k1, int seat) {
    const wino_phase *f = (const wino_phase *)ctx;
    const wino_job *j = f->j;
    long c = j->c, m = j->m, ntp = f->ntp;
    gk_epilogue plain;
    memset(&plain, 0, sizeof plain);
    (void)seat;
    for (long k = k0; k < k1; k++)
        gk_gemm_packed(m, ntp, c, j->u + k * j->asz, f->vb + k * c * ntp, f->mb + k * m * ntp, ntp,
                       &plain, 1);
}

/* y[i][q] (rows ow apart) = o's lane l (o[(i * MT + q) * WL + l]) for the tile's first `rows` x
 * `cols` values (fewer than MT where the plane's bottom / right edge cuts it), plus the residual
 * (then clipped) where there is one; a whole tile's call passes constants (unrolled) */
static inline void scatter_tile(const float *o, long l, long MT, long rows, long cols, float *y,
                                const float *r, long ow, float lo, float hi, int clip) {
    if (r) {
        for (long i = 0; i < rows; i++)
            for (long q = 0; q < cols; q++) {
                float v = o[(i * MT + q) * WL + l] + r[i * ow + q];
                if (clip) { /* as the epilogue: a NaN stays NaN */
                    v = v < lo ? lo : v;
                    v = v > hi ? hi : v;
                }
                y[i * ow + q] = v;
            }
    } else {
        for (long i = 0; i < rows; i++)
            for (long q = 0; q < cols; q++) y[i * ow + q] = o[(i * MT + q) * WL + l];
    }
}

/* output transform, bias, clip, scatter of (panel, output channel) pairs [q0, q1) */
static void wino_output(void *ctx, long q0, long q1, int seat) {
    const wino_phase *f = (const wino_phase *)ctx;
    const wino_job *j = f->j;
    long mt = j->mt, m = j->m, ntp = f->ntp, ow = j->ow;
    const gk_winograd_kernels *K = gk_k.winograd;
    wino_tile tl[WL];
    long at = -1, n = 0;
    int clip_here = j->clip && !j->res; /* with a residual: add it first, then clip */
    (void)seat;
    for (long pm = q0; pm < q1; pm++) {
        float o[16 * WL];
        long p = pm / m, co = pm % m;
        if (p != at) n = panel_tiles(f, p, tl), at = p;
        const float *mm = f->mb + co * ntp + p * WL; /* the GEMMs' products, read in place */
        float b = j->bias ? j->bias[co] : 0.0f;
        mt == 4 ? K->output4(mm, m * ntp, o, b, j->lo, j->hi, clip_here)
                : K->output2(mm, m * ntp, o, b, j->lo, j->hi, clip_here);
        float *plane = j->y + co * j->oh * ow;
        const float *rplane = j->res ? j->res + co * j->oh * ow : NULL;
        for (long l = 0; l < n; l++) {
            const wino_tile *e = tl + l;
            const float *r = rplane ? rplane + e->out : NULL;
            float *yt = plane + e->out;
            int whole = e->rows == mt && e->cols == mt;
            if (K->scatter && whole) {
                /* AVX-512: this run of whole tiles of one tile row, its rows a few vectors each */
                long k = 1;
                while (l + k < n && tl[l + k].iy == e->iy && tl[l + k].cols == mt) k++;
                K->scatter(o, mt, l, k, yt, r, ow, j->lo, j->hi, j->clip);
                l += k - 1;
            } else if (whole && mt == 4) { /* whole tiles: the unrolled copy */
                scatter_tile(o, l, 4, 4, 4, yt, r, ow, j->lo, j->hi, j->clip);
            } else if (whole) {
                scatter_tile(o, l, 2, 2, 2, yt, r, ow, j->lo, j->hi, j->clip);
            } else { /* a tile cut by the plane's bottom / right edge */
                scatter_tile(o, l, mt, e->rows, e->cols, yt, r, ow, j->lo, j->hi, j->clip);
            }
        }
    }
}

/* Output tiles [t0, t0 + nt): input transform into vb (packed B per position), the GEMMs into mb,
 * the output transform into y. `threads` > 1 spreads each phase over the pool; 1 runs it here
 * (the caller may be running a chunk of an outer pool call). */
static void wino_tiles(const wino_job *j, long t0, long nt, float *vb, float *mb, int threads) {
    long ntp = round16(nt), panels = ntp / WL;
    wino_phase f = {j, t0, nt, ntp, vb, mb};
    long a = j->mt + 2;
    gk_parallel_range(panels * j->c, panels * j->c > 8 ? threads : 1, wino_input, &f);
    gk_parallel_range(a * a, threads, wino_gemms, &f);
    gk_parallel_range(panels * j->m, panels * j->m > 8 ? threads : 1, wino_output, &f);
}

/* gk_winograd_conv's tiles in chunks of `per` panels (or, `even` > 0, in `even` chunks of evenly
 * spread tiles), each chunk through all three phases on one thread with the seat's buffers */
typedef struct {
    const wino_job *j;
    long tiles, per, ct, even;
    float *bufs;
    size_t per_thread;
} wino_chunks;

static void wino_chunk(void *ctx, long q, int seat) {
    const wino_chunks *w = (const wino_chunks *)ctx;
    long first = q * w->per * WL, last = GK_MIN(w->tiles, (q + 1) * w->per * WL);
    if (w->even) first = w->tiles * q / w->even, last = w->tiles * (q + 1) / w->even;
    float *vb = w->bufs + (size_t)seat * w->per_thread;
    float *mb = vb + (size_t)((w->j->mt + 2) * (w->j->mt + 2)) * (size_t)w->j->c * (size_t)w->ct;
    if (last > first) wino_tiles(w->j, first, last - first, vb, mb, 1);
}

void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph, long pw,
                      long oh, long ow, const float *u, long m, const float *bias, float lo,
                      float hi, int clip, float *y, float *work, long chunk, int threads,
                      const float *res) {
    long th = (oh + mt - 1) / mt, tw = (ow + mt - 1) / mt, tiles = th * tw;
    long ct = round16(GK_MIN(tiles, chunk)), panels = round16(tiles) / WL;
    float *bufs = work;
    size_t per_thread = chunk_floats(mt, c, m, ct);
    wino_job j = {mt, c, m, h, w, ph, pw, tw, oh, ow, NULL, u, gk_packed_a_size(m, c), bias, lo, hi,
                  clip, NULL, NULL};
    /* Chunks of `per` panels (two or more where the tiles allow: the GEMM's 32-column blocks, about
     * four chunks per thread) run through all three phases on one thread each (no pool call
     * between the phases) where that makes at least three chunks per thread, so that the last
     * chunk costs little balance; else the phases are spread over the threads one after another
     * (each phase cut into many chunks). (Chunks of at least 4 panels left a 28x28 plane, 4
     * panels, in one chunk: one thread; a 56x56 plane, 13 panels, in chunks of 4, 4, 4, 1.) */
    long per = GK_MIN(ct / WL, GK_MAX(2L, (panels + 4 * threads - 1) / (4 * threads)));
    long chunks = (panels + per - 1) / per, even = 0;
    int by_tiles = threads > 1 && chunks >= 3 * threads;
    /* Too few panels for that: a multiple of `threads` chunks of evenly spread tiles, where they
     * take no more panels than the plane has and at most 4 each (a 28x28 plane, 49 tiles in 4
     * panels: 2 chunks of 25 and 24 tiles, 2 panels each, one pool call; the phases spread would
     * be 3 calls, each a wait on a descheduled worker under load). Each tile's lane changes, not
     * its arithmetic: the transforms and the GEMM do the same operations in every lane. */
    for (long q = threads; threads > 1 && !by_tiles && q <= 4 * threads; q += threads) {
        long each = round16((tiles + q - 1) / q);
        if (q * each <= panels * WL && each <= GK_MIN(ct, 4 * WL)) {
            even = q;
            chunks = q;
            by_tiles = 1;
        }
    }
    wino_chunks wc = {&j, tiles, per, ct, even, bufs, per_thread};
    for (long img = 0; img < n; img++) {
        j.x = x + img * c * h * w;
        j.y = y + img * m * oh * ow;
        j.res = res ? res + img * m * oh * ow : NULL;
        if (by_tiles) {
            gk_parallel(chunks, threads, wino_chunk, &wc);
        } else {
            float *vb = bufs, *mb = vb + (size_t)((mt + 2) * (mt + 2)) * (size_t)c * (size_t)ct;
            for (long t0 = 0; t0 < tiles; t0 += ct)
                wino_tiles(&j, t0, GK_MIN(ct, tiles - t0), vb, mb, threads);
        }
    }
}

/* U[k = a*A + b][m][c] = sum_ij G[a][i] w[m][c][i][j] G[b][j] for every (m, c): the transformed
 * weights of Winograd F(A-2 x A-2, 3x3) (A = 6 or 4), in double and rounded once; g is A x 3. */
typedef struct {
    const float *w;
    long plane, a;
    const double *g;
    float *u;
} wino_weights;

static void wino_weights_range(void *ctx, long q0, long q1, int seat) {
    const wino_weights *d = (const wino_weights *)ctx;
    long a = d->a, plane = d->plane;
    const double *g = d->g;
    (void)seat;
    for (long mc = q0; mc < q1; mc++) {
        const float *k = d->w + mc * 9;
        double t[6][3];
        for (long r = 0; r < a; r++)
            for (long j = 0; j < 3; j++)
                t[r][j] = g[r * 3 + 0] * k[0 * 3 + j] + g[r * 3 + 1] * k[1 * 3 + j] +
                          g[r * 3 + 2] * k[2 * 3 + j];
        for (long r = 0; r < a; r++)
            for (long q = 0; q < a; q++)
                d->u[(r * a + q) * plane + mc] =
                    (float)(t[r][0] * g[q * 3 + 0] + t[r][1] * g[q * 3 + 1] + t[r][2] * g[q * 3 + 2]);
    }
}

void gk_winograd_weights(const float *w, long m, long c, long a, const double *g, float *u,
                         int threads) {
    wino_weights d = {w, m * c, a, g, u};
    gk_parallel_range(m * c, m * c > 4096 ? threads : 1, wino_weights_range, &d);
}
