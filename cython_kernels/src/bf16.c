/* BF16 GEMM drivers (see bf16.h): the implementation in force, rounding and packing to bf16
 * pairs, the split of C between threads, and the float32 epilogue of gemm.h on each tile (the
 * level's own epilogue kernel, gk_k.gemm->epilogue). Who computes a tile does not change its
 * bits: every element is one accumulator over K in pair order, whatever the blocking. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "amx.h"
#include "bf16.h"
#include "dispatch.h"
#include "isa.h"
#include "threadpool.h"

static int g_impl = GK_BF16_NONE;

int gk_bf16_cpu_native(void) {
#if GK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int gk_bf16_set_impl(int impl) {
    if (impl == GK_BF16_NATIVE && !gk_bf16_cpu_native()) impl = GK_BF16_NONE;
    if (impl != GK_BF16_NATIVE && impl != GK_BF16_EMULATED) impl = GK_BF16_NONE;
    g_impl = impl;
    return g_impl;
}

int gk_bf16_impl(void) { return g_impl; }

int gk_bf16_amx_built(void) {
#if GK_X86
    return gk_bf16_kernels_amxbf16.tile != NULL;
#else
    return 0;
#endif
}

int gk_bf16_amx(void) {
#if GK_X86
    return g_impl == GK_BF16_NATIVE && gk_bf16_amx_built() && gk_amx_bf16();
#else
    return 0;
#endif
}

/* the SIMD level's table: the emulation, and the packing's rounding loops for every impl */
static const gk_bf16_kernels *level_kernels(void) {
#if GK_X86
    int level = gk_simd_level();
    return level >= 2 ? &gk_bf16_kernels_avx512 : level == 1 ? &gk_bf16_kernels_avx2
                                                              : &gk_bf16_kernels_generic;
#else
    return &gk_bf16_kernels_generic;
#endif
}

static const gk_bf16_kernels *kernels(void) {
#if GK_X86
    if (g_impl == GK_BF16_NATIVE)
        return gk_bf16_amx_built() && gk_amx_bf16() ? &gk_bf16_kernels_amxbf16
                                                    : &gk_bf16_kernels_avx512bf16;
#endif
    if (g_impl == GK_BF16_EMULATED) return level_kernels();
    return NULL;
}

uint16_t gk_bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);
    uint16_t h = (uint16_t)(u >> 16);
    return (h & 0x7F80u) ? h : (uint16_t)(h & 0x8000u); /* zero exponent: signed zero */
}

static inline uint32_t pair(float lo, float hi) {
    return (uint32_t)gk_bf16_round(lo) | ((uint32_t)gk_bf16_round(hi) << 16);
}

size_t gk_bf16_packed_a_size(long m, long k) {
    return (size_t)((m + GK_BF16_MR - 1) / GK_BF16_MR) * GK_BF16_MR * (size_t)gk_bf16_pairs(k);
}

size_t gk_bf16_packed_b_size(long k, long n) {
    return (size_t)((n + GK_BF16_NR - 1) / GK_BF16_NR) * GK_BF16_NR * (size_t)gk_bf16_pairs(k);
}

/* ---- packing -------------------------------------------------------------------------------- */

typedef struct {
    long rows, k, s_r, s_k, width; /* panels of `width` lines (rows of A, columns of B) */
    int blocked;                   /* A's layout (pairs in blocks of GK_BF16_KB), else B's */
    const float *src;
    uint32_t *out;
} pack_job;

#define GK_BF16_PACK_GROUP 16 /* B panels packed together (1 KB of each source row) */

/* panels [p0, p1): line l of panel p is src + (p * width + l) * s_r, its K elements s_k apart */
static void pack_panels(void *ctx, long p0, long p1, int seat) {
    const pack_job *j = (const pack_job *)ctx;
    long P = (j->k + 1) / 2, Pp = gk_bf16_pairs(j->k), width = j->width, full = j->k / 2;
    const gk_bf16_kernels *lk = level_kernels();
    (void)seat;
    if (!j->blocked && j->s_r == 1) {
        /* B's columns contiguous: pair rows 2q, 2q+1 of GK_BF16_PACK_GROUP panels at a time, the
         * pairs outer, so each source row is read GK_BF16_PACK_GROUP * width floats in a row
         * (panel by panel, a panel read 64 bytes of every source row: K streams a page apart) */
        for (long g0 = p0; g0 < p1; g0 += GK_BF16_PACK_GROUP) {
            long g1 = GK_MIN(p1, g0 + GK_BF16_PACK_GROUP);
            for (long p = g0; p < g1; p++) {
                uint32_t *dst = j->out + p * Pp * width;
                if (GK_MIN(width, j->rows - p * width) < width)
                    memset(dst, 0, (size_t)(Pp * width) * sizeof(uint32_t));
                else
                    memset(dst + P * width, 0, (size_t)((Pp - P) * width) * sizeof(uint32_t));
            }
            for (long q = 0; q < P; q++) {
                const float *lo = j->src + 2 * q * j->s_k;
                const float *hi = 2 * q + 1 < j->k ? lo + j->s_k : NULL;
                for (long p = g0; p < g1; p++) {
                    long off = p * width, lines = GK_MIN(width, j->rows - off);
                    lk->pair_rows(lo + off, hi ? hi + off : NULL, lines,
                                  j->out + p * Pp * width + q * width);
                }
            }
        }
        return;
    }
    for (long p = p0; p < p1; p++) {
        uint32_t *dst = j->out + p * Pp * width;
        long lines = GK_MIN(width, j->rows - p * width);
        if (lines < width || j->blocked) /* the padding and missing lines are zero */
            memset(dst, 0, (size_t)(Pp * width) * sizeof(uint32_t));
        else
            memset(dst + P * width, 0, (size_t)((Pp - P) * width) * sizeof(uint32_t));
        if (j->blocked && j->s_k == 1) { /* A's rows contiguous: adjacent elements pair */
            for (long l = 0; l < lines; l++) {
                const float *s = j->src + (p * width + l) * j->s_r;
                for (long q0 = 0; q0 < full; q0 += GK_BF16_KB)
                    lk->pair_adjacent(s + 2 * q0, GK_MIN((long)GK_BF16_KB, full - q0),
                                      &GK_BF16_A_AT(dst, q0, l));
                if (full < P) GK_BF16_A_AT(dst, full, l) = pair(s[2 * full], 0.0f);
            }
            continue;
        }
        for (long l = 0; l < lines; l++) {
            const float *s = j->src + (p * width + l) * j->s_r;
            for (long q = 0; q < P; q++) {
                float hi = 2 * q + 1 < j->k ? s[(2 * q + 1) * j->s_k] : 0.0f;
                uint32_t v = pair(s[2 * q * j->s_k], hi);
                if (j->blocked)
                    GK_BF16_A_AT(dst, q, l) = v;
                else
                    dst[q * width + l] = v;
            }
        }
    }
}

static void pack(long rows, long k, const float *src, long s_r, long s_k, long width, int blocked,
                 uint32_t *out, int threads) {
    long panels = (rows + width - 1) / width;
    pack_job j = {rows, k, s_r, s_k, width, blocked, src, out};
    gk_parallel_range(panels, panels * k > 8192 ? threads : 1, pack_panels, &j);
}

void gk_bf16_pack_a(long m, long k, const float *a, long s_m, long s_k, uint32_t *out,
                    int threads) {
    pack(m, k, a, s_m, s_k, GK_BF16_MR, 1, out, threads);
}

void gk_bf16_pack_b(long k, long n, const float *b, long s_k, long s_n, uint32_t *out,
                    int threads) {
    pack(n, k, b, s_n, s_k, GK_BF16_NR, 0, out, threads);
}

typedef struct {
    long k;
    const float *bp;
    uint32_t *out;
} repack_job;

_Static_assert(GK_NR == GK_BF16_NR, "repack_panels maps gemm.h's B panels onto bf16 panels 1:1");

static void repack_panels(void *ctx, long p0, long p1, int seat) {
    const repack_job *j = (const repack_job *)ctx;
    const gk_bf16_kernels *lk = level_kernels();
    long k = j->k, P = (k + 1) / 2, Pp = gk_bf16_pairs(k);
    (void)seat;
    for (long p = p0; p < p1; p++) {
        const float *src = j->bp + p * k * GK_NR; /* gemm.h's packed B: k rows of GK_NR */
        uint32_t *dst = j->out + p * Pp * GK_BF16_NR;
        memset(dst + P * GK_BF16_NR, 0, (size_t)((Pp - P) * GK_BF16_NR) * sizeof(uint32_t));
        for (long q = 0; q < P; q++) {
            const float *lo = src + 2 * q * GK_NR;
            lk->pair_rows(lo, 2 * q + 1 < k ? lo + GK_NR : NULL, GK_BF16_NR, dst + q * GK_BF16_NR);
        }
    }
}

void gk_bf16_pack_b_from_packed(long k, long n, const float *bp, uint32_t *out, int threads) {
    long panels = (n + GK_BF16_NR - 1) / GK_BF16_NR;
    repack_job j = {k, bp, out};
    gk_parallel_range(panels, panels * k > 8192 ? threads : 1, repack_panels, &j);
}

/* ---- im2col straight into bf16 panels ----------------------------------------------------- */

typedef struct {
    const float *x;
    long c, h, w, kw, sh, sw, dh, dw, ph, pw, ow, n, k, taps;
    uint32_t *out;
} conv_pack_job;

/* the 16 values of im2col row `row` in panel columns with plane offsets o (-1: padding) */
static inline const float *im2col_row(const conv_pack_job *j, long row, const long *offs,
                                      const int *dense, float *buf) {
    long ci = row / j->taps, t = row % j->taps;
    const float *plane = j->x + ci * j->h * j->w;
    const long *o = offs + t * GK_BF16_NR;
    if (dense[t]) return plane + o[0];
    for (long l = 0; l < GK_BF16_NR; l++) buf[l] = o[l] >= 0 ? plane[o[l]] : 0.0f;
    return buf;
}

static void conv_pack_panels(void *ctx, long p0, long p1, int seat) {
    const conv_pack_job *j = (const conv_pack_job *)ctx;
    long taps = j->taps, k = j->k, P = (k + 1) / 2, Pp = gk_bf16_pairs(k);
    long offs[GK_BF16_CONV_TAPS * GK_BF16_NR];
    int dense[GK_BF16_CONV_TAPS];
    float lo_buf[GK_BF16_NR], hi_buf[GK_BF16_NR];
    const gk_bf16_kernels *lk = level_kernels();
    (void)seat;
    for (long p = p0; p < p1; p++) {
        for (long t = 0; t < taps; t++) { /* each lane's offset in a plane, per tap */
            long ky = t / j->kw, kx = t % j->kw, *o = offs + t * GK_BF16_NR;
            for (long l = 0; l < GK_BF16_NR; l++) {
                long q = p * GK_BF16_NR + l, iy, ix;
                o[l] = -1;
                if (q >= j->n) continue;
                iy = (q / j->ow) * j->sh - j->ph + ky * j->dh;
                ix = (q % j->ow) * j->sw - j->pw + kx * j->dw;
                if (iy >= 0 && iy < j->h && ix >= 0 && ix < j->w) o[l] = iy * j->w + ix;
            }
            int d = o[0] >= 0;
            for (long l = 1; l < GK_BF16_NR && d; l++) d = o[l] == o[0] + l;
            dense[t] = d;
        }
        uint32_t *dst = j->out + p * Pp * GK_BF16_NR;
        for (long q = 0; q < P; q++) {
            const float *lo = im2col_row(j, 2 * q, offs, dense, lo_buf);
            const float *hi = 2 * q + 1 < k ? im2col_row(j, 2 * q + 1, offs, dense, hi_buf) : NULL;
            lk->pair_rows(lo, hi, GK_BF16_NR, dst + q * GK_BF16_NR);
        }
        memset(dst + P * GK_BF16_NR, 0, (size_t)((Pp - P) * GK_BF16_NR) * sizeof(uint32_t));
    }
}

int gk_bf16_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                        uint32_t *out, int threads) {
    long n = oh * ow, taps = kh * kw, k = c * taps;
    if (taps > GK_BF16_CONV_TAPS || taps <= 0) return -1;
    if (n <= 0 || k <= 0) return 0;
    long panels = (n + GK_BF16_NR - 1) / GK_BF16_NR;
    conv_pack_job j = {x, c, h, w, kw, sh, sw, dh, dw, ph, pw, ow, n, k, taps, out};
    gk_parallel_range(panels, panels * k > 32768 ? threads : 1, conv_pack_panels, &j);
    return 0;
}

/* ---- the product ---------------------------------------------------------------------------- */

#define GK_BF16_COLS (2 * GK_BF16_NR) /* columns of a tile */

typedef struct {
    gk_bf16_args g;
    const gk_bf16_kernels *kern;
    long row_tiles, col_tiles;
    int rows_outer;
} tile_job;

/* a product of at most this many pairs walks C row tile by row tile (its stores and its
 * epilogue sweep each row of C in order), else column by column (a column's B panels stay
 * cached while A's row tiles pass): a short K leaves the tiles waiting on C's stores, and
 * column by column each tile's 32 rows lie a row of C apart (96 x 12544, K 16: 1.5x slower) */
#define GK_BF16_ROWS_OUTER_PAIRS 64

/* tiles [t0, t1) in the order above */
static void run_tiles(void *ctx, long t0, long t1, int seat) {
    const tile_job *j = (const tile_job *)ctx;
    const gk_bf16_args *g = &j->g;
    long mr = j->kern->row_tile;
    (void)seat;
    if (t0 >= t1) return;
    if (j->kern->begin) j->kern->begin();
    for (long t = t0; t < t1; t++) {
        long ti = j->rows_outer ? t / j->col_tiles : t % j->row_tiles;
        long tj = j->rows_outer ? t % j->col_tiles : t / j->row_tiles;
        long i0 = ti * mr, j0 = tj * GK_BF16_COLS;
        long rows = GK_MIN(mr, g->m - i0), cols = GK_MIN(GK_BF16_COLS, g->n - j0);
        j->kern->tile(g, i0, rows, j0, cols);
        if (!j->kern->tile_epilogue)
            gk_k.gemm->epilogue(g->c + i0 * g->ldc + j0, g->ldc, rows, cols, g->ep, i0, j0, 1);
    }
    if (j->kern->end) j->kern->end();
}

/* threads worth a pool call for an m x n x k product (about 2 us of work per extra thread) */
static int threads_for(long m, long n, long k, int threads) {
    double work = (double)m * (double)n * (double)(k > 0 ? k : 1);
    int t = threads < 1 ? 1 : threads;
    while (t > 1 && work < 150000.0 * t) t--;
    return t;
}

static const gk_epilogue no_epilogue; /* zero: no bias, clip or activation */

/* the AMX tiles apply Gelu in registers (gk_bf16_args.gelu_in_tile); 0: the float32 epilogue's
 * pass over each stored tile (MiniLM's FFN-up, 128 x 1536 x 384: see docs/bf16.md) */
static int g_gemm_gelu_tile = 1;

int gk_bf16_gemm_set_gelu_tile(int on) {
    int old = g_gemm_gelu_tile;
    if (on >= 0) g_gemm_gelu_tile = on != 0;
    return old;
}

void gk_bf16_gemm_packed(long m, long n, long k, const uint32_t *ap, const uint32_t *bp, float *c,
                         long ldc, const gk_epilogue *ep, int threads) {
    const gk_bf16_kernels *kern = kernels();
    if (m <= 0 || n <= 0 || !kern) return;
    long row_tiles = (m + kern->row_tile - 1) / kern->row_tile;
    long col_tiles = (n + GK_BF16_COLS - 1) / GK_BF16_COLS;
    tile_job j = {{m, n, k, ap, bp, c, ldc, ep ? ep : &no_epilogue, g_gemm_gelu_tile}, kern,
                  row_tiles, col_tiles, gk_bf16_pairs(k) <= GK_BF16_ROWS_OUTER_PAIRS};
    gk_parallel_range(row_tiles * col_tiles, threads_for(m, n, k, threads), run_tiles, &j);
}

/* per-thread packed A, reused between calls (threadpool.h's gk_tls_buffer) */
static __thread gk_tls_buffer tl_a;

int gk_bf16_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const uint32_t *bp,
                 float *c, long ldc, const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return 0;
    if (!kernels()) return -2;
    uint32_t *ap = (uint32_t *)gk_tls_grow(&tl_a, gk_bf16_packed_a_size(m, k) * sizeof(uint32_t));
    if (!ap) return -1;
    gk_bf16_pack_a(m, k, a, s_m, s_k, ap, threads_for(m, n, k, threads));
    gk_bf16_gemm_packed(m, n, k, ap, bp, c, ldc, ep, threads);
    return 0;
}

/* ---- direct conv on AMX tiles (bf16.h) ------------------------------------------------------ */

typedef struct {
    long hq, wq, sq, phases, plane; /* phase planes hq x wq, sq pairs apart; plane = phases sq */
} conv_planes;

static int planes_of(long kh, long kw, long sh, long sw, long dh, long dw, long oh, long ow,
                     conv_planes *p) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || oh < 0 || ow < 0 ||
        sh > GK_BF16_CONV_STRIDE || sw > GK_BF16_CONV_STRIDE || kh * kw > GK_BF16_CONV_TAPS)
        return -1;
    p->hq = oh + (kh - 1) * dh / sh;
    p->wq = ow + (kw - 1) * dw / sw;
    p->sq = (p->hq * p->wq + 32 + 15) / 16 * 16; /* a tile reads up to 31 pairs past hq * wq */
    p->phases = sh * sw;
    p->plane = p->phases * p->sq;
    return 0;
}

size_t gk_bf16_conv_planes_size(long c, long kh, long kw, long sh, long sw, long dh, long dw,
                                long oh, long ow) {
    conv_planes p;
    if (c < 0 || planes_of(kh, kw, sh, sw, dh, dw, oh, ow, &p)) return 0;
    return (size_t)(gk_bf16_conv_cpad(c) / 2) * (size_t)p.plane;
}

/* a stem's kernel columns folded into channels (gk_bf16_conv_direct_fold): folded channel
 * ci * kw + kx, pixel (y, xo) is the image's (ci, y, sw xo + kx dw - pw), zero outside it */
typedef struct {
    long kw, sw, dw, pw; /* kw 0: no fold */
} conv_fold;

typedef struct {
    const float *x;
    long c, h, w, sh, sw, ph, pw; /* c: the planes' channels (folded ones where fold.kw) */
    conv_planes p;
    conv_fold fold;
    const char *used; /* phases some tap reads */
    uint32_t *out;
    gk_seat_bufs bufs; /* strided phases and folds: two gathered rows of wq floats */
    int failed;
} planes_job;

/* row iy of folded channel ch (< j->c) as wq floats of the phases' width (folded: stride 1, no
 * column padding): the image's row at columns sw xo + kx dw - pw, zero outside the image */
static void fold_row(const planes_job *j, long ch, long iy, float *dst) {
    const conv_fold *f = &j->fold;
    long kx = ch % f->kw, wq = j->p.wq, sw = f->sw, shift = kx * f->dw - f->pw;
    const float *row = j->x + ((ch / f->kw) * j->h + iy) * j->w;
    /* the columns inside the image: 0 <= sw xo + shift < w, i.e. xo in [x0, x1) */
    long x0 = shift < 0 ? (-shift + sw - 1) / sw : 0;
    long x1 = j->w - shift > 0 ? GK_MIN(wq, (j->w - shift + sw - 1) / sw) : 0;
    if (x1 <= x0) {
        memset(dst, 0, (size_t)wq * sizeof(float));
        return;
    }
    memset(dst, 0, (size_t)x0 * sizeof(float));
    memset(dst + x1, 0, (size_t)(wq - x1) * sizeof(float));
    const float *src = row + shift;
    if (sw == 1) /* a literal stride: the copy vectorises */
        memcpy(dst + x0, src + x0, (size_t)(x1 - x0) * sizeof(float));
    else if (sw == 2)
        for (long xo = x0; xo < x1; xo++) dst[xo] = src[2 * xo];
    else
        for (long xo = x0; xo < x1; xo++) dst[xo] = src[sw * xo];
}

/* pair planes [q0, q1): each phase some tap reads, zero, then channels 2q and 2q + 1 rounded in */
static void pack_planes(void *ctx, long q0, long q1, int seat) {
    planes_job *j = (planes_job *)ctx;
    const gk_bf16_kernels *lk = level_kernels();
    long hq = j->p.hq, wq = j->p.wq, sh = j->sh, sw = j->sw;
    float *lo_buf = NULL, *hi_buf = NULL;
    if (q0 >= q1) return;
    if (sw > 1 || j->fold.kw) {
        lo_buf = (float *)gk_seat_buf(&j->bufs, seat);
        if (!lo_buf) {
            j->failed = 1;
            return;
        }
        hi_buf = lo_buf + wq;
    }
    for (long q = q0; q < q1; q++) {
        if (j->fold.kw) { /* one phase row (sw 1), both channels gathered from the image */
            for (long ph_ = 0; ph_ < j->p.phases; ph_++) {
                uint32_t *dst = j->out + q * j->p.plane + ph_ * j->p.sq;
                if (!j->used[ph_]) continue;
                if (2 * q >= j->c) {
                    memset(dst, 0, (size_t)j->p.sq * sizeof(uint32_t));
                    continue;
                }
                /* every row inside the image is written whole (fold_row zero-fills its
                 * columns): only the padding rows and the tail past hq * wq are zeroed */
                memset(dst + hq * wq, 0, (size_t)(j->p.sq - hq * wq) * sizeof(uint32_t));
                for (long yy = 0; yy < hq; yy++) {
                    long iy = sh * yy + ph_ - j->ph;
                    if (iy < 0 || iy >= j->h) {
                        memset(dst + yy * wq, 0, (size_t)wq * sizeof(uint32_t));
                        continue;
                    }
                    fold_row(j, 2 * q, iy, lo_buf);
                    if (2 * q + 1 < j->c) fold_row(j, 2 * q + 1, iy, hi_buf);
                    lk->pair_rows(lo_buf, 2 * q + 1 < j->c ? hi_buf : NULL, wq, dst + yy * wq);
                }
            }
            continue;
        }
        const float *lo = j->x + 2 * q * j->h * j->w;
        const float *hi = 2 * q + 1 < j->c ? lo + j->h * j->w : NULL;
        for (long ph_ = 0; ph_ < j->p.phases; ph_++) {
            if (!j->used[ph_]) continue;
            long ry = ph_ / sw, rx = ph_ % sw;
            uint32_t *dst = j->out + q * j->p.plane + ph_ * j->p.sq;
            memset(dst, 0, (size_t)j->p.sq * sizeof(uint32_t));
            if (2 * q >= j->c) continue;
            /* columns xx with 0 <= sw xx + rx - pw < w: [x0, x1) */
            long x0 = j->pw - rx > 0 ? (j->pw - rx + sw - 1) / sw : 0;
            long x1 = GK_MIN(wq, (j->w + j->pw - rx + sw - 1) / sw);
            if (x1 <= x0) continue;
            for (long yy = 0; yy < hq; yy++) {
                long iy = sh * yy + ry - j->ph;
                if (iy < 0 || iy >= j->h) continue;
                const float *l = lo + iy * j->w, *u = hi ? hi + iy * j->w : NULL;
                long ix0 = sw * x0 + rx - j->pw;
                if (sw == 1) {
                    lk->pair_rows(l + ix0, u ? u + ix0 : NULL, x1 - x0, dst + yy * wq + x0);
                    continue;
                }
                for (long xx = x0; xx < x1; xx++) {
                    lo_buf[xx - x0] = l[ix0 + (xx - x0) * sw];
                    if (u) hi_buf[xx - x0] = u[ix0 + (xx - x0) * sw];
                }
                lk->pair_rows(lo_buf, u ? hi_buf : NULL, x1 - x0, dst + yy * wq + x0);
            }
        }
    }
}

/* the direct conv's tiles store the output with the epilogue themselves (conv_tile's g->y);
 * 0: through the seat's tile buffer, then a copy of the valid columns and the epilogue's pass */
static int g_conv_fused = 1;
/* and store each tile's output while the next tile multiplies (conv_run); 0: after each tile */
static int g_conv_overlap = 1;
/* the fewest pair blocks per tile (taps x channel blocks) for that: fewer leave too little
 * product time to hide a tile's 64 output rows (the alternated calls, one thread, median ratio
 * overlap / after each: ResNet's folded stem, 7 blocks, 1.12; 3x3s of 16-32 channels, 9 blocks,
 * 0.98-0.99; of 48-64 channels, 18 blocks, 0.86-0.87) */
#define GK_BF16_OVERLAP_BLOCKS 9

int gk_bf16_conv_set_fused(int on) {
    int old = g_conv_fused;
    if (on >= 0) g_conv_fused = on != 0;
    return old;
}

int gk_bf16_conv_set_overlap(int on) {
    int old = g_conv_overlap;
    if (on >= 0) g_conv_overlap = on != 0;
    return old;
}

typedef struct {
    gk_bf16_conv_args g;
    const gk_bf16_kernels *kern;
    long m, oh, ow, wq, row_tiles, chunk_rows, chunks, ldt;
    float *y;
    const gk_epilogue *ep;
    gk_seat_bufs bufs;
    int failed;
} conv_job;

/* units [u0, u1): unit u is row tile u / chunks (its weights panel stays cached across its
 * chunks) times output rows [oy0, oy1) of chunk u % chunks; the tiles write their valid columns
 * to y with the epilogue themselves (g.y set), or go to the seat's buffer at the phases' width,
 * then the valid columns to y and the epilogue on them */
static void conv_units(void *ctx, long u0, long u1, int seat) {
    conv_job *j = (conv_job *)ctx;
    long mr = j->kern->row_tile, hw = j->oh * j->ow, nc = 2 * GK_BF16_NR;
    if (u0 >= u1) return;
    int fused = j->g.y || j->g.yp; /* the tiles write y (or the hand-off planes) themselves */
    float *t = fused ? NULL : (float *)gk_seat_buf(&j->bufs, seat);
    if (!t && !fused) {
        j->failed = 1;
        return;
    }
    if (j->kern->begin) j->kern->begin();
    for (long u = u0; u < u1; u++) {
        long i0 = (u / j->chunks) * mr, rows = GK_MIN(mr, j->m - i0);
        long oy0 = (u % j->chunks) * j->chunk_rows, oy1 = GK_MIN(j->oh, oy0 + j->chunk_rows);
        long ncols = (oy1 - oy0 - 1) * j->wq + j->ow;
        if (fused && g_conv_overlap && j->kern->conv_run &&
            j->g.taps * j->g.cpb >= GK_BF16_OVERLAP_BLOCKS) { /* y written during products */
            j->kern->conv_run(&j->g, i0, rows, oy0 * j->wq, oy0 * j->wq + ncols);
            continue;
        }
        if (fused) { /* the tiles write y with the epilogue themselves */
            for (long n0 = 0; n0 < ncols; n0 += nc)
                j->kern->conv_tile(&j->g, i0, rows, oy0 * j->wq + n0, GK_MIN(nc, ncols - n0),
                                   NULL, 0);
            continue;
        }
        for (long n0 = 0; n0 < ncols; n0 += nc)
            j->kern->conv_tile(&j->g, i0, rows, oy0 * j->wq + n0, GK_MIN(nc, ncols - n0),
                               t + n0, j->ldt);
        for (long r = 0; r < rows; r++)
            for (long oy = oy0; oy < oy1; oy++)
                memcpy(j->y + (i0 + r) * hw + oy * j->ow, t + r * j->ldt + (oy - oy0) * j->wq,
                       (size_t)j->ow * sizeof(float));
        gk_k.gemm->epilogue(j->y + i0 * hw + oy0 * j->ow, hw, rows, (oy1 - oy0) * j->ow, j->ep,
                            i0, oy0 * j->ow, 1);
    }
    if (j->kern->end) j->kern->end();
}

long gk_bf16_conv_form_plane(long hq, long wq) {
    return hq < 0 || wq < 0 ? 0 : (hq * wq + 32 + 15) / 16 * 16; /* planes_of's sq */
}

/* where the output goes as the hand-off form (bf16.h: gk_bf16_conv_direct_ex's yp) */
typedef struct {
    uint32_t *yp; /* NULL: to y as float32 */
    long top, left, hq, wq;
} conv_form_out;

/* the form's padding and tail zeroed in planes [q0, q1) (the tiles write the rest) */
static void zero_form_border(uint32_t *yp, long q0, long q1, const conv_form_out *o, long oh,
                             long ow) {
    long sq = gk_bf16_conv_form_plane(o->hq, o->wq), right = o->wq - o->left - ow;
    for (long q = q0; q < q1; q++) {
        uint32_t *d = yp + q * sq;
        memset(d, 0, (size_t)(o->top * o->wq + o->left) * sizeof(uint32_t));
        for (long yy = o->top; yy < o->top + oh; yy++) /* a row's right pad and the next's left */
            memset(d + yy * o->wq + o->left + ow, 0,
                   (size_t)(right + (yy + 1 < o->top + oh ? o->left : 0)) * sizeof(uint32_t));
        long tail = (o->top + oh) * o->wq;
        memset(d + tail, 0, (size_t)(sq - tail) * sizeof(uint32_t));
    }
}

/* the direct conv of x (c channels, or, where fold->kw, the image's c / fold->kw channels with
 * their columns folded in: c = channels * kw, and kw, sw, dw, pw are then 1, 1, 1, 0); x NULL:
 * planes hold its pair planes already; out->yp: the output as the hand-off form */
static int conv_direct(const float *x, long c, long h, long w, long kh, long kw, long sh, long sw,
                       long dh, long dw, long ph, long pw, long oh, long ow, long m,
                       const uint32_t *wpk, uint32_t *planes, float *y, const gk_epilogue *ep,
                       int threads, const conv_fold *fold, const conv_form_out *out) {
    const gk_bf16_kernels *kern = kernels();
    conv_planes p;
    if (!gk_bf16_amx() || !kern || !kern->conv_tile) return -2;
    if (ph < 0 || pw < 0 || c < 0 || h < 0 || w < 0 || m < 0 ||
        planes_of(kh, kw, sh, sw, dh, dw, oh, ow, &p))
        return -3;
    if (!x && (p.phases != 1 || dh != 1 || dw != 1 || fold->kw)) return -3;
    if (out->yp && (m % (2 * GK_BF16_KB) || out->top < 0 || out->left < 0 ||
                    out->hq < out->top + oh || out->wq < out->left + ow ||
                    (ep && ep->act != GK_ACT_NONE)))
        return -3;
    if (m == 0 || oh == 0 || ow == 0) return 0;
    long cp = gk_bf16_conv_cpad(c), taps = kh * kw, pairs = cp / 2;
    long offs[GK_BF16_CONV_TAPS];
    char used[GK_BF16_CONV_STRIDE * GK_BF16_CONV_STRIDE] = {0};
    for (long t = 0; t < taps; t++) {
        long ey = (t / kw) * dh, ex = (t % kw) * dw, phase = (ey % sh) * sw + ex % sw;
        offs[t] = phase * p.sq + (ey / sh) * p.wq + ex / sw;
        used[phase] = 1;
    }
    planes_job pj;
    memset(&pj, 0, sizeof pj);
    pj.x = x, pj.c = c, pj.h = h, pj.w = w, pj.sh = sh, pj.sw = sw, pj.ph = ph, pj.pw = pw;
    pj.p = p, pj.used = used, pj.out = planes, pj.fold = *fold;
    if (x) { /* else the planes hold the input already (a hand-off) */
        gk_seat_bufs_init(&pj.bufs, 2 * (size_t)p.wq * sizeof(float));
        gk_parallel_range(pairs, pairs * p.plane > 8192 ? threads : 1, pack_planes, &pj);
        gk_seat_bufs_free(&pj.bufs);
        if (pj.failed) return -1;
    }
    if (out->yp) zero_form_border(out->yp, 0, m / 2, out, oh, ow);

    conv_job j;
    memset(&j, 0, sizeof j);
    j.g = (gk_bf16_conv_args){gk_bf16_pairs(taps * cp), cp / (2 * GK_BF16_KB), taps, p.plane,
                              offs, wpk, planes};
    j.ep = ep ? ep : &no_epilogue;
    if (out->yp) { /* the tiles store the hand-off form with the epilogue */
        j.g.yp = out->yp, j.g.yp_plane = gk_bf16_conv_form_plane(out->hq, out->wq);
        j.g.yp_wq = out->wq, j.g.yp_off = out->top * out->wq + out->left;
        j.g.ow = ow, j.g.wq = p.wq, j.g.hw = oh * ow, j.g.ep = j.ep;
    } else if (g_conv_fused && j.ep->act == GK_ACT_NONE) { /* the tiles store y themselves */
        j.g.y = y, j.g.ow = ow, j.g.wq = p.wq, j.g.hw = oh * ow, j.g.ep = j.ep;
    }
    j.kern = kern;
    j.m = m, j.oh = oh, j.ow = ow, j.wq = p.wq;
    j.row_tiles = (m + kern->row_tile - 1) / kern->row_tile;
    j.chunk_rows = GK_MAX(1L, GK_MIN(oh, 288 / p.wq));
    j.chunks = (oh + j.chunk_rows - 1) / j.chunk_rows;
    j.ldt = ((j.chunk_rows - 1) * p.wq + ow + 15) / 16 * 16;
    j.y = y;
    gk_seat_bufs_init(&j.bufs,
                      j.g.y || j.g.yp ? 64
                                      : (size_t)kern->row_tile * (size_t)j.ldt * sizeof(float));
    long units = j.row_tiles * j.chunks;
    gk_parallel_range(units, threads_for(m, oh * ow, taps * c, threads), conv_units, &j);
    gk_seat_bufs_free(&j.bufs);
    return j.failed ? -1 : 0;
}

int gk_bf16_conv_direct(const float *x, long c, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow, long m,
                        const uint32_t *wpk, uint32_t *planes, float *y, const gk_epilogue *ep,
                        int threads) {
    const conv_fold none = {0, 1, 1, 0};
    const conv_form_out to_y = {NULL, 0, 0, 0, 0};
    if (!x) return -3;
    return conv_direct(x, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, m, wpk, planes, y, ep,
                       threads, &none, &to_y);
}

int gk_bf16_conv_direct_ex(const float *x, long c, long h, long w, long kh, long kw, long sh,
                           long sw, long dh, long dw, long ph, long pw, long oh, long ow, long m,
                           const uint32_t *wpk, uint32_t *planes, float *y, uint32_t *yp,
                           long yp_top, long yp_left, long yp_hq, long yp_wq,
                           const gk_epilogue *ep, int threads) {
    const conv_fold none = {0, 1, 1, 0};
    const conv_form_out out = {yp, yp_top, yp_left, yp_hq, yp_wq};
    if (!yp && !y) return -3;
    return conv_direct(x, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, m, wpk, planes, y, ep,
                       threads, &none, &out);
}

int gk_bf16_conv_direct_fold(const float *x, long c, long h, long w, long kh, long kw, long sh,
                             long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                             long m, const uint32_t *wpk, uint32_t *planes, float *y,
                             const gk_epilogue *ep, int threads) {
    const conv_fold fold = {kw, sw, dw, pw};
    const conv_form_out to_y = {NULL, 0, 0, 0, 0};
    if (!x || kw < 1 || sw < 1 || dw < 1 || pw < 0 || c < 0 || c > LONG_MAX / kw) return -3;
    return conv_direct(x, c * kw, h, w, kh, 1, sh, 1, dh, 1, ph, 0, oh, ow, m, wpk, planes, y, ep,
                       threads, &fold, &to_y);
}
