/* Polyphase planes (the `sp_` helpers): the layout that the depthwise conv, the direct conv with
 * few input channels and 2-D pooling read at SIMD levels 1 and 2 (conv_kernels.inc,
 * pool_kernels.inc; the builders are in polyphase_kernels.inc).
 *
 * The zero- (or -inf-) padded input plane a window geometry reads is split into sh x sw phase
 * planes, phase (a, b)[r, c] = padded[r * sh + a, c * sw + b], each hq x wq. Every tap (ky, kx) of
 * every output (oy, ox) then reads its phase plane at the flat index q + off(ky, kx) with
 * q = oy * wq + ox: one flat loop over q computes whole planes one vector (16 or 8 outputs) at a
 * time whatever the row width (a 7x7 plane is 4 vectors, not 7 part-filled ones), and stride 2
 * needs no gathers. Lanes with ox >= ow are computed and dropped when the rows are copied out.
 * */
#ifndef GK_POLYPHASE_H
#define GK_POLYPHASE_H

#include "isa.h"

/* Geometry of one plane's phases. */
typedef struct {
    long h, w;           /* input plane */
    long ph, pw;         /* pads at the top / left */
    long sh, sw;         /* strides: sh x sw phases */
    long padh, padw;     /* the padded extent the windows read */
    long hq, wq;         /* rows / columns of a phase plane */
    long plane;          /* floats from one phase plane to the next (hq * wq and a gap) */
    long y0, y1, x0, x1; /* input rows / columns inside the padded extent */
} sp_geo;

/* 0 turns the polyphase kernels off (depthwise, direct conv and pooling take their row paths;
 * for A/B timings and tests); defined in conv.c */
extern int gk_polyphase_on;

#define SP_SLACK 320 /* floats after the last phase plane read by lanes past the end */
#define SP_BATCH_FLOATS 12288 /* small planes: phases + results of this many floats per batch */

static inline void sp_geo_init(sp_geo *g, long h, long w, long kh, long kw, long sh, long sw, long dh,
                        long dw, long ph, long pw, long oh, long ow) {
    g->h = h, g->w = w, g->ph = ph, g->pw = pw, g->sh = sh, g->sw = sw;
    g->padh = (oh - 1) * sh + (kh - 1) * dh + 1;
    g->padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    g->hq = (g->padh + sh - 1) / sh;
    g->wq = (g->padw + sw - 1) / sw;
    g->plane = g->hq * g->wq + 32; /* the gap takes the overhang of a row's last vector */
    g->y0 = GK_MAX(0L, -ph), g->y1 = GK_MIN(h, g->padh - ph);
    g->x0 = GK_MAX(0L, -pw), g->x1 = GK_MIN(w, g->padw - pw);
}

/* floats of the phases of one plane, slack after them included */
static inline long sp_size(const sp_geo *g) { return g->sh * g->sw * g->plane + g->wq + SP_SLACK; }

static inline void sp_fill(float *p, long n, float v) {
    for (long i = 0; i < n; i++) p[i] = v;
}

/* flat offset of tap (ky, kx) in the phases of one plane */
static inline long sp_tap(const sp_geo *g, long ky, long kx, long dh, long dw) {
    long ry = ky * dh, rx = kx * dw;
    return ((ry % g->sh) * g->sw + rx % g->sw) * g->plane + (ry / g->sh) * g->wq + rx / g->sw;
}

/* Planes per batch and output rows per band: small planes are built, computed and copied out
 * a batch at a time (so no load waits on a just-stored vector it straddles), large ones a band
 * of rows at a time into a small result buffer. */
static inline void sp_plan(const sp_geo *g, long oh, long *batch, long *band) {
    long whole = sp_size(g) + oh * g->wq + 64;
    if (2 * whole <= SP_BATCH_FLOATS) {
        *batch = GK_MIN(32L, SP_BATCH_FLOATS / whole);
        *band = oh;
    } else {
        *batch = 1;
        *band = GK_MIN(oh, GK_MAX(1L, 2048 / g->wq));
    }
}

/* off[ky * kw + kx] = sp_tap(g, ky, kx, dh, dw) for the kh x kw taps */
static inline void sp_taps(const sp_geo *g, long kh, long kw, long dh, long dw, long *off) {
    for (long ky = 0; ky < kh; ky++)
        for (long kx = 0; kx < kw; kx++) off[ky * kw + kx] = sp_tap(g, ky, kx, dh, dw);
}

/* Computes planes [p0, p1) (at most `batch`) with phs: their phase planes (batch * sp_size
 * floats), acc: their results (batch * (band * wq + 64) floats). */
typedef void (*sp_batch_fn)(const void *ctx, long p0, long p1, float *phs, float *acc);

/* Runs fn over planes [0, planes) a batch at a time (sp_plan's batch and band) on `threads`
 * threads, each with its own zeroed buffer (polyphase.c). Returns 0 if a thread could not
 * allocate its buffer: its planes were not computed, and the caller runs its row path over
 * every plane. */
int sp_run_batches(const sp_geo *g, long planes, long batch, long band, int threads,
                   sp_batch_fn fn, const void *ctx);

#endif
