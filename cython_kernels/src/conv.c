/* Convolution drivers besides the GEMM (see conv.h): im2col into packed-B panels, the depthwise
 * conv (polyphase planes for small planes, padded rows otherwise) and the direct conv with few
 * input channels; the per-level kernels they call are in conv_kernels.inc. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "dispatch.h"
#include "gemm.h"
#include "conv1x1.h"
#include "gemm_direct.h"
#include "isa.h"
#include "threadpool.h"

int gk_polyphase_on = 1;
int gk_direct_b_on = 1;

typedef struct {
    const float *x;
    long c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k, taps;
    float *out;
    gk_seat_bufs bufs; /* per tap: lane offsets (GK_NR longs); then the same as ints; then a
                        * dense flag (int) each */
} packb_job;

/* the per-tap bytes of packb_job's buffer */
#define GK_PACKB_TAP_BYTES (GK_NR * (sizeof(long) + sizeof(int)) + sizeof(int))

/* panels [p0, p1) of the packed im2col matrix into dst (panel p0 first) */
static void conv_panels_to(void *ctx, long p0, long p1, float *dst0, int seat) {
    packb_job *j = (packb_job *)ctx;
    long taps = j->taps, kw = j->kw, n = j->n, k = j->k, h = j->h, w = j->w, ow = j->ow;
    long *offs = (long *)gk_seat_buf(&j->bufs, seat);
    if (!offs) return;
    int *o32 = (int *)(offs + taps * GK_NR), *dense = o32 + taps * GK_NR;
    /* the level's gather takes 32-bit offsets in a plane */
    void (*lanes)(const float *, long, long, long, const long *, const int *, const int *,
                  float *) = h * w <= 0x7fffffffL ? gk_k.conv->im2col_lanes : NULL;
    for (long p = p0; p < p1; p++) {
        /* per tap: each lane's offset in a channel plane (-1: padding), and whether the 16
         * lanes read 16 consecutive floats */
        for (long t = 0; t < taps; t++) {
            long ky = t / kw, kx = t % kw;
            long *o = offs + t * GK_NR;
            for (long l = 0; l < GK_NR; l++) {
                long q = p * GK_NR + l;
                o[l] = -1;
                if (q >= n) continue;
                long iy = (q / ow) * j->sh - j->ph + ky * j->dh;
                long ix = (q % ow) * j->sw - j->pw + kx * j->dw;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) o[l] = iy * w + ix;
            }
            for (long l = 0; l < GK_NR; l++) o32[t * GK_NR + l] = (int)o[l];
            int d = o[0] >= 0;
            for (long l = 1; l < GK_NR && d; l++) d = o[l] == o[0] + l;
            dense[t] = d;
        }
        float *dst = dst0 + (p - p0) * k * GK_NR;
        if (lanes) {
            lanes(j->x, j->c, h * w, taps, offs, o32, dense, dst);
            continue;
        }
        for (long ci = 0; ci < j->c; ci++) {
            const float *plane = j->x + ci * h * w;
            for (long t = 0; t < taps; t++, dst += GK_NR) {
                const long *o = offs + t * GK_NR;
                if (dense[t]) {
                    memcpy(dst, plane + o[0], GK_NR * sizeof(float));
                } else {
                    for (long l = 0; l < GK_NR; l++) dst[l] = o[l] >= 0 ? plane[o[l]] : 0.0f;
                }
            }
        }
    }
}

/* panels [p0, p1) of the packed im2col matrix at their places in packb_job's out */
static void pack_b_conv_panels(void *ctx, long p0, long p1, int seat) {
    const packb_job *j = (const packb_job *)ctx;
    conv_panels_to(ctx, p0, p1, j->out + p0 * j->k * GK_NR, seat);
}

/* im2col packing goes to the pool from this many packed floats (about 10 us of gathering; the
 * limit was once 32768 panels x K, i.e. 512 Ki floats: the packing of every ResNet-18 conv that
 * is no Winograd one, 100-300 us each, ran on the calling thread alone) */
#define GK_CONV_PACK_PAR 32768

/* Packed B (see gemm.c) of the im2col matrix of one image group x (c, h, w):
 * B[(ci*kh + ky)*kw + kx, oy*ow + ox] = x[ci, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw] (0 outside). */
void gk_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh, long sw,
                    long dh, long dw, long ph, long pw, long oh, long ow, float *out, int threads) {
    long n = oh * ow, k = c * kh * kw, taps = kh * kw;
    long panels = (n + GK_NR - 1) / GK_NR;
    packb_job j = {x, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k, taps, out,
                   {0, {NULL}}};
    gk_seat_bufs_init(&j.bufs, (size_t)taps * GK_PACKB_TAP_BYTES);
    gk_parallel_range(panels, panels * k * GK_NR > GK_CONV_PACK_PAR ? threads : 1,
                      pack_b_conv_panels, &j);
    gk_seat_bufs_free(&j.bufs);
}

typedef struct {
    const float *x;
    long k, n;
    float *out;
} plain_job;

/* panels [p0, p1) of a plane read as it is (a 1x1 / stride-1 / unpadded conv's B) into dst
 * (panel p0 first): the columns from p0's packed as a plane of their own */
static void plain_panels_to(void *ctx, long p0, long p1, float *dst, int seat) {
    const plain_job *j = (const plain_job *)ctx;
    (void)seat;
    gk_pack_b_panels(j->k, j->n - p0 * GK_NR, j->x + p0 * GK_NR, j->n, 1, dst, 0, p1 - p0);
}

/* the same at their places in plain_job's out */
static void pack_plain_panels(void *ctx, long p0, long p1, int seat) {
    const plain_job *j = (const plain_job *)ctx;
    plain_panels_to(ctx, p0, p1, j->out + p0 * j->k * GK_NR, seat);
}

/* Per-thread buffers of the unpacked-B path (threadpool.h's gk_tls_buffer): the row offsets, the
 * padded input, the output with padded rows. */
static __thread gk_tls_buffer tl_direct[3];

static void *direct_buf(int slot, size_t bytes) { return gk_tls_grow(&tl_direct[slot], bytes); }

/* whether rows `stride` floats apart spread over the L1 sets: a stride with a large power-of-two
 * factor (N = 3136, 12544) puts every row of a column tile into the same few sets */
static int spreads(long stride) { return stride % 32 != 0; }

/* the rows `stride` floats apart a column tile may read in place where they do not spread: rows
 * 64 / gcd(stride / 16, 64) apart share L1 sets, 8 rows a set of the 12 ways (N = 3136: 128 rows,
 * N = 12544: 32). Measured alone (1x1 convs, cold input, medians): 64 -> 64 at 56x56 0.83-0.95x
 * the packed path at 1 and 2 threads, 32 -> 64 and 16 -> 64 at 112x112 0.72-0.93x, 128 -> 128 at
 * 56x56 0.95-1.01x; 256 -> 64 and 256 -> 128 at 56x56 in K blocks of 128 1.09-1.16x at 1 thread
 * (and a sum in two blocks), so K past 64 stays packed. But in the model ResNet-50's 64 -> 64 at
 * 56x56 (its input the max pool's, just written) took 1.28x the packed path's time at 1 thread
 * and 1.17x at 2 (results/resnet_2t.md, Session 30 (r50)), so K = 64 stays packed too
 * (GK_UNSPREAD_K) */
#define GK_UNSPREAD_K 32
static long unspread_rows(long stride) {
    long g = 64, a = (stride / 16) % 64; /* g = gcd(64, a) */
    while (a) {
        long r = g % a;
        g = a, a = r;
    }
    return 8 * (64 / g);
}

typedef struct {
    const float *x;
    long batch, c, h, w, ph, pw, hp, wp, plane;
    float *p;
    const float *cp; /* compacting: C with padded rows, nw columns */
    float *y;
    long m, oh, ow, nw;
} directb_job;

/* channels [c0, c1) of every image of x zero-padded into p: channel ci's planes (hp x wp, one per
 * image, one under the other) at ci * plane */
static void direct_pad(void *ctx, long c0, long c1, int seat) {
    const directb_job *j = (const directb_job *)ctx;
    /* rows and columns no window reads (an output size rounded down) are left out */
    long rows = GK_MIN(j->h, j->hp - j->ph), cols = GK_MIN(j->w, j->wp - j->pw);
    (void)seat;
    for (long ci = c0; ci < c1; ci++) {
        float *dst = j->p + ci * j->plane;
        memset(dst, 0, (size_t)j->plane * sizeof(float));
        for (long i = 0; i < j->batch; i++)
            for (long iy = 0; iy < rows && cols > 0; iy++)
                memcpy(dst + (i * j->hp + iy + j->ph) * j->wp + j->pw,
                       j->x + ((i * j->c + ci) * j->h + iy) * j->w, (size_t)cols * sizeof(float));
    }
}

/* rows [r0, r1) of every image of y from the padded-row C (the first ow of every wp columns) */
static void direct_compact(void *ctx, long r0, long r1, int seat) {
    const directb_job *j = (const directb_job *)ctx;
    (void)seat;
    for (long i = 0; i < j->batch; i++)
        for (long r = r0; r < r1; r++)
            for (long oy = 0; oy < j->oh; oy++)
                memcpy(j->y + ((i * j->m + r) * j->oh + oy) * j->ow,
                       j->cp + r * j->nw + (i * j->hp + oy) * j->wp,
                       (size_t)j->ow * sizeof(float));
}

/* How gk_conv_gemm(_batch) reads B for this conv (see conv_direct_b): 0 packed, 1 the input
 * planes in place (a 1x1 unpadded conv of one image), 2 a zero-padded copy of the input. */
static int direct_b_mode(long m, long batch, long c, long h, long w, long kh, long kw, long sh,
                         long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                         int residual) {
    long n = oh * ow, k = c * kh * kw, kc, mc;
    (void)dh;
    if (!gk_direct_b_on || !gk_k.gemm_direct->block || sh != 1 || sw != 1 || k <= 0 || m <= 0)
        return 0;
    /* past one K block the column tile's B rows (two lines each where a row is not aligned)
     * crowd A out of L1: measured slower than packing (SqueezeNet's 512 -> 1000 at 13x13: 2.13
     * vs 1.93 ms; silero's 129 -> 128 conv1d per image 0.047 vs 0.041 ms) unless the product
     * covers a batch whose images would each be a product of a few columns */
    gk_gemm_blocking(&kc, &mc);
    if (k > kc && batch == 1) return 0;
    /* more output channels than one M block: B is then read once per M block, and unpacked
     * (rows strided across the plane, often not on a line) that costs more than packing it once
     * and reading the panels (ResNet-50's 256 -> 1024 at 14x14 and 128 -> 512 at 28x28: 1.5-1.7x
     * and 1.2-1.4x the packed path in the model, SqueezeNet's 64 -> 256 at 13x13 1.1-1.5x; one
     * M block, SqueezeNet's 16/32/64-channel convs, stays 0.6-0.9x) */
    if (m > mc) return 0;
    if (batch == 1 && kh == 1 && kw == 1 && ph == 0 && pw == 0 && oh == h && ow == w)
        return spreads(n) || (k <= GK_UNSPREAD_K && k <= unspread_rows(n)) ? 1 : 0;
    /* a residual only where C is y (one image of one output row): elsewhere columns are dropped */
    if (residual && !(batch == 1 && oh == 1)) return 0;
    return 2;
}

int gk_conv_direct_b_mode(long m, long batch, long c, long h, long w, long kh, long kw, long sh,
                          long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                          int residual) {
    return direct_b_mode(m, batch, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, residual);
}

/* The conv of `batch` images (one group) as a GEMM whose B is read in place (gemm_direct.h),
 * where the level has the kernel and the conv has stride 1: a 1x1 unpadded conv of one image
 * multiplies its input planes; any other (a batched 1x1 too) computes output rows
 * wp = ow + (kw - 1) dw wide from a zero-padded copy of the input, the images' padded planes
 * one under the other (B's row for tap (ci, ky, kx) is then the slice of channel ci's planes at
 * ky dh wp + kx dw, and one product covers the batch), then drops the extra columns (one image
 * of one output row has none: C is y). Returns 0 (nothing done) where direct_b_mode says 0.
 * Same sums as the packed GEMM. */
static int conv_direct_b(const float *ap, long m, const float *x, long batch, long c, long h,
                         long w, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                         long pw, long oh, long ow, float *y, const gk_epilogue *ep, int threads) {
    long n = oh * ow, k = c * kh * kw;
    int mode = direct_b_mode(m, batch, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                             ep->residual != NULL);
    if (mode == 0) return 0;
    if (mode == 1) {
        long *roff = (long *)direct_buf(0, (size_t)k * sizeof(long));
        if (!roff) return 0;
        for (long kk = 0; kk < k; kk++) roff[kk] = kk * n;
        return gk_gemm_direct(m, n, k, ap, x, roff, y, n, ep, threads);
    }
    long wp = ow + (kw - 1) * dw, hp = oh + (kh - 1) * dh;
    int in_place = batch == 1 && oh == 1; /* C is y */
    long nw = in_place ? ow : ((batch - 1) * hp + oh) * wp;
    /* a channel's floats: its planes, the overhang of the last row's window, and a gap that
     * spreads the channels over the L1 sets */
    long plane = batch * hp * wp + (kw - 1) * dw;
    plane += (16 - plane % 32 + 32) % 32;
    long *roff = (long *)direct_buf(0, (size_t)k * sizeof(long));
    float *p = (float *)direct_buf(1, (size_t)(c * plane + 64) * sizeof(float));
    float *cp = in_place ? y : (float *)direct_buf(2, (size_t)(m * nw + 64) * sizeof(float));
    if (!roff || !p || !cp) return 0;
    for (long ci = 0; ci < c; ci++)
        for (long ky = 0; ky < kh; ky++)
            for (long kx = 0; kx < kw; kx++)
                roff[(ci * kh + ky) * kw + kx] = ci * plane + ky * dh * wp + kx * dw;
    directb_job j = {x, batch, c, h, w, ph, pw, hp, wp, plane, p, cp, y, m, oh, ow, nw};
    gk_parallel_range(c, c * plane > 65536 ? threads : 1, direct_pad, &j);
    if (!gk_gemm_direct(m, nw, k, ap, p, roff, cp, nw, ep, threads)) return 0;
    if (!in_place) gk_parallel_range(m, batch * m * n > 65536 ? threads : 1, direct_compact, &j);
    return 1;
}

/* Packed-B bytes of a run of conv_fill_blocks (0: none, gemm.h's gk_gemm_fill_b for every
 * conv): half the 2 MiB L2 of a core, the other half for A (GK_CONV_FILL_A) and C's tiles */
long gk_conv_fill_bytes = 1L << 20;
/* a deep conv's runs (K >= GK_CONV_FILL_DEEP_K): a quarter of that. ResNet-18's 64 -> 128 3x3
 * stride 2 at 56x56 (A 295 KB, a block's B 903 KB: one run at 1 MiB) took 0.83-0.97x at 2
 * threads in runs of 256 KiB; the thin 1x1s (K 64) lost 1.1-1.4x in runs that small
 * (results/resnet_2t.md, Session 29 (r18) and (lead)) */
long gk_conv_fill_deep_bytes = 1L << 18;
/* packed A bytes up to which conv_fill_blocks splits a block into runs: each run reads all of A
 * again (ResNet-50's 512 -> 512 3x3 at 14x14, A 9.4 MB, in two runs: 2.27 -> 2.57 ms) */
#define GK_CONV_FILL_A (1L << 20)

/* an im2col conv product (not a plain 1x1's) of K at most this that the grid would split by rows
 * at 2+ threads is split by columns instead (0: never; declared in wrappers/conv.pxi, not conv.h,
 * which every level includes): each thread packs and multiplies its own columns in one pool
 * call, where the rows' split packs every panel in one pool call, then multiplies in another.
 * ResNet-18's 128 -> 256 1x1 stride 2 at 28x28 (M 256, N 196, K 128): results/resnet_2t.md,
 * Session 31 (r18) */
long gk_conv_cols_k = 128;

typedef struct {
    const float *ap;
    long m, n, k;
    void (*panels)(void *pj, long p0, long p1, float *dst, int seat); /* panel p0 at dst */
    void *pj;
    float *bp, *y;
    const gk_epilogue *ep;
    long blocks, cols; /* column blocks, and the columns packed and multiplied at a time */
} fillblk_job;

/* column block t (gemm.c's fill_block's columns) in runs of `cols` columns: each run's panels
 * packed at the start of the block's place in bp, then multiplied as a product of their own
 * (C's columns, and the residual's, from the run's first) */
static void fill_blocks_part(void *ctx, long t, int seat) {
    const fillblk_job *j = (const fillblk_job *)ctx;
    long cu = gk_k.gemm->col_unit, un = (j->n + cu - 1) / cu;
    long n0 = un * t / j->blocks * cu, n1 = GK_MIN(j->n, un * (t + 1) / j->blocks * cu);
    float *dst = j->bp + n0 / GK_NR * j->k * GK_NR;
    for (long s0 = n0; s0 < n1; s0 += j->cols) {
        long s1 = GK_MIN(n1, s0 + j->cols);
        j->panels(j->pj, s0 / GK_NR, (s1 + GK_NR - 1) / GK_NR, dst, seat);
        gk_epilogue ep = *j->ep;
        if (ep.residual) ep.residual += s0;
        if (ep.bias_col) ep.bias_col += s0;
        if (ep.slope_col) ep.slope_col += s0;
        gk_gemm_packed(j->m, s1 - s0, j->k, j->ap, dst, j->y + s0, j->n, &ep, 1);
    }
}

/* y = epilogue(packed A @ B), B's panels made by `panels` or, at their places in bp, by `fill`
 * (gemm.h's gk_gemm_fill_b): the same grid and the same bits. Where the threads split C by
 * columns only, A is at most GK_CONV_FILL_A and a thread's block of packed B is over
 * gk_conv_fill_bytes, the thread packs and multiplies its block in runs of at most that size,
 * each packed over the last at the start of the block's place in bp, so the panels are written
 * to and read back from its L2; whole, a block's stores went past L2, and missed to memory where
 * no conv had written those lines of bp since the last run (bp is one buffer for every kernel on
 * the thread): ResNet-50's 256 -> 128 1x1 and 128 -> 128 3x3 stride 2 at 56x56 took 1.06-1.16x
 * once the 256 -> 64 1x1s before them ran on conv1x1.c (results/resnet_2t.md, Session 26 and 27
 * (r50)). An im2col product (im2col 1) of K <= gk_conv_cols_k that the grid splits by rows runs
 * by columns in the same way (each block one run where it fits the budget). */
static void conv_fill_blocks(long m, long n, long k, const float *ap,
                             void (*panels)(void *pj, long p0, long p1, float *dst, int seat),
                             void (*fill)(void *pj, long p0, long p1, int seat), void *pj,
                             long fill_par, int im2col, float *bp, float *y,
                             const gk_epilogue *ep, int threads) {
    int nt = gk_gemm_threads(m, n, k, threads), pm = 1, pn = 1;
    long blocks = nt > 1 ? gk_gemm_grid(m, n, k, nt, &pm, &pn) : 1;
    int small_a = (long)(gk_packed_a_size(m, k) * sizeof(float)) <= GK_CONV_FILL_A;
    int cols = im2col && pm > 1 && k <= gk_conv_cols_k && small_a; /* by columns after all */
    if (cols) pm = 1, pn = nt, blocks = nt;
    long cu = gk_k.gemm->col_unit, un = (n + cu - 1) / cu;
    /* a block's column units in runs of equal size (whole units), each at most the budget */
    long units = (un + blocks - 1) / blocks, unit_bytes = cu * k * (long)sizeof(float);
    long budget = k >= GK_CONV_FILL_DEEP_K && gk_conv_fill_deep_bytes > 0
                      ? gk_conv_fill_deep_bytes
                      : gk_conv_fill_bytes;
    long runs = budget > 0 ? (units * unit_bytes - 1) / budget + 1 : 1;
    if (!cols && (runs <= 1 || pm > 1 || !small_a)) {
        gk_gemm_fill_b(m, n, k, ap, fill, pj, fill_par, bp, y, n, ep, threads);
        return;
    }
    fillblk_job j = {ap, m, n, k, panels, pj, bp, y, ep, GK_MIN(un, blocks),
                     (units + runs - 1) / runs * cu};
    if (nt <= 1) {
        fill_blocks_part(&j, 0, 0);
        return;
    }
    gk_parallel(j.blocks, nt, fill_blocks_part, &j);
}

static void conv_epilogue(gk_epilogue *ep, const float *bias, const float *residual, long n,
                          float lo, float hi, int clip) {
    memset(ep, 0, sizeof *ep);
    ep->bias_row = bias;
    ep->residual = residual;
    ep->ld_residual = n;
    ep->lo = lo;
    ep->hi = hi;
    ep->clip = clip;
}

void gk_conv_gemm_batch(const float *ap, long m, const float *x, long batch, long c, long h,
                        long w, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                        long pw, long oh, long ow, float *bp, float *y, const float *bias,
                        const float *residual, float lo, float hi, int clip, int threads) {
    long n = oh * ow;
    if (m <= 0 || n <= 0 || batch <= 0) return;
    gk_epilogue ep;
    conv_epilogue(&ep, bias, residual, n, lo, hi, clip);
    if (batch > 1 && conv_direct_b(ap, m, x, batch, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh,
                                   ow, y, &ep, threads))
        return;
    for (long i = 0; i < batch; i++)
        gk_conv_gemm(ap, m, x + i * c * h * w, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                     bp, y + i * m * n, bias, residual ? residual + i * m * n : NULL, lo, hi,
                     clip, threads);
}

void gk_conv_gemm(const float *ap, long m, const float *x, long c, long h, long w, long kh,
                  long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  float *bp, float *y, const float *bias, const float *residual, float lo,
                  float hi, int clip, int threads) {
    long n = oh * ow, k = c * kh * kw, taps = kh * kw;
    if (m <= 0 || n <= 0) return;
    gk_epilogue ep;
    conv_epilogue(&ep, bias, residual, n, lo, hi, clip);
    int plain = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == h &&
                ow == w; /* B is the input planes themselves */
    if (plain && gk_conv1x1(m, n, k, ap, x, y, &ep, threads)) return;
    if (conv_direct_b(ap, m, x, 1, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, y, &ep,
                      threads))
        return;
    if (plain) {
        plain_job pj = {x, k, n, bp};
        conv_fill_blocks(m, n, k, ap, plain_panels_to, pack_plain_panels, &pj, 4096, 0, bp, y,
                         &ep, threads);
        return;
    }
    packb_job j = {x, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k, taps, bp,
                   {0, {NULL}}};
    gk_seat_bufs_init(&j.bufs, (size_t)taps * GK_PACKB_TAP_BYTES);
    conv_fill_blocks(m, n, k, ap, conv_panels_to, pack_b_conv_panels, &j,
                     GK_CONV_PACK_PAR / GK_NR, 1, bp, y, &ep, threads);
    gk_seat_bufs_free(&j.bufs);
}

/* dst (padh x padw) = the plane src (h x w) at offset (ph, pw), zero elsewhere; each element
 * written once (the plane may be cut off at the bottom / right where no window reads it) */
static void pad_plane(const float *src, long h, long w, long ph, long pw, long padh, long padw,
                      float *dst) {
    long x0 = GK_MAX(0L, -pw), x1 = GK_MIN(w, padw - pw); /* source columns copied */
    long c0 = x1 > x0 ? x0 + pw : padw, c1 = x1 > x0 ? x1 + pw : padw;
    for (long py = 0; py < padh; py++) {
        float *row = dst + py * padw;
        long iy = py - ph;
        if (iy < 0 || iy >= h || x1 <= x0) {
            memset(row, 0, (size_t)padw * sizeof(float));
            continue;
        }
        if (c0 > 0) memset(row, 0, (size_t)c0 * sizeof(float));
        memcpy(row + c0, src + iy * w + x0, (size_t)(c1 - c0) * sizeof(float));
        if (c1 < padw) memset(row + c1, 0, (size_t)(padw - c1) * sizeof(float));
    }
}

/* 3x3, dilation 1, stride 1 (or 2 where the level has a stride-2 row kernel): zero-padded plane, then the row kernels */
static void dw3x3_plane(const float *src, long h, long w, const float *wc, long sh, long sw,
                        long ph, long pw, long oh, long ow, float b, float lo, float hi, int clip,
                        float *scratch, float *dst) {
    const gk_conv_kernels *K = gk_k.conv;
    long padh = (oh - 1) * sh + 3, padw = (ow - 1) * sw + 3;
    pad_plane(src, h, w, ph, pw, padh, padw, scratch);
    for (long oy = 0; oy < oh; oy++) {
        const float *r0 = scratch + oy * sh * padw, *r1 = r0 + padw, *r2 = r1 + padw;
        float *row = dst + oy * ow;
        if (sw == 2) /* only where the level has it (see fast3x3) */
            K->dw3x3s2_row(r0, r1, r2, wc, b, lo, hi, clip, ow, row);
        else
            K->dw3x3_row(r0, r1, r2, wc, b, lo, hi, clip, ow, row);
    }
}

/* gk_depthwise on polyphase planes: returns 0 (nothing done) where the level has no polyphase
 * kernel, they are turned off, or the planes are too large to batch */
typedef struct {
    const gk_conv_kernels *K;
    const sp_geo *g;
    const float *x, *wt, *bias;
    long c, oh, ow, taps, batch, band;
    float lo, hi;
    const long *off;
    float *y;
} dw_batch;

static void dw_planes(const void *ctx, long p0, long p1, float *phs, float *acc) {
    const dw_batch *d = (const dw_batch *)ctx;
    d->K->dw_planes_poly(d->g, d->x, p0, p1, d->c, d->wt, d->bias, d->lo, d->hi, d->oh, d->ow,
                         d->off, d->taps, phs, acc, d->batch, d->band, d->y);
}

static int dw_poly(const float *x, long n, long c, long h, long w, const float *wt, long kh,
                   long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                   const float *bias, float lo, float hi, int clip, float *y, int threads) {
    const gk_conv_kernels *K = gk_k.conv;
    if (!gk_polyphase_on || !K->dw_planes_poly || kh * kw > 64) return 0;
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long off[64];
    sp_taps(&g, kh, kw, dh, dw, off);
    if (!clip) lo = -INFINITY, hi = INFINITY;
    long planes = n * c, batch, band;
    sp_plan(&g, oh, &batch, &band);
    /* planes too large to batch (56x56 and up) measured no faster than the row kernels below in
     * MobileNetV2 (112x112: 0.35 -> 0.42 ms), which keep the padded plane and rows in L1 */
    if (batch == 1) return 0;
    dw_batch d = {K, &g, x, wt, bias, c, oh, ow, kh * kw, batch, band, lo, hi, off, y};
    int nt = planes * oh * ow * kh * kw > 32768 ? threads : 1;
    return sp_run_batches(&g, planes, batch, band, nt, dw_planes, &d);
}

typedef struct {
    const gk_conv_kernels *K;
    const float *x, *wt, *bias;
    long c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, padh, padw;
    float lo, hi;
    int clip, fast3x3;
    float *y;
    gk_seat_bufs bufs; /* the zero-padded plane */
} dw_job;

/* planes [p0, p1) (image-major) of the depthwise conv on padded planes */
static void dw_planes_rows(void *ctx, long p0, long p1, int seat) {
    dw_job *j = (dw_job *)ctx;
    const gk_conv_kernels *K = j->K;
    long h = j->h, w = j->w, kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, dh = j->dh;
    long dw = j->dw, ph = j->ph, pw = j->pw, oh = j->oh, ow = j->ow, padw = j->padw;
    float *scratch = (float *)gk_seat_buf(&j->bufs, seat);
    if (!scratch) return;
    for (long pl = p0; pl < p1; pl++) {
        long ch = pl % j->c;
        const float *src = j->x + pl * h * w;
        float b = j->bias ? j->bias[ch] : 0.0f;
        float *dst = j->y + pl * oh * ow;
        if (j->fast3x3) {
            dw3x3_plane(src, h, w, j->wt + ch * 9, sh, sw, ph, pw, oh, ow, b, j->lo, j->hi,
                        j->clip, scratch, dst);
            continue;
        }
        /* the zero-padded plane this window geometry reads */
        pad_plane(src, h, w, ph, pw, j->padh, padw, scratch);
        const float *wc = j->wt + ch * kh * kw;
        if (K->dwk_row && sw == 1 && dh == 1 && dw == 1) {
            for (long oy = 0; oy < oh; oy++)
                K->dwk_row(scratch + oy * sh * padw, padw, kh, kw, wc, b, j->lo, j->hi, j->clip,
                           ow, dst + oy * ow);
        } else {
            K->dw_plane(scratch, padw, wc, kh, kw, sh, sw, dh, dw, oh, ow, b, j->lo, j->hi,
                        j->clip, dst);
        }
    }
}

/* y[n, c] = clip(bias[c] + sum_{ky,kx} wt[c, ky, kx] * xpad[n, c, oy*sh + ky*dh, ox*sw + kx*dw]) */
void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
                  long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  const float *bias, float lo, float hi, int clip, float *y, int threads) {
    if (dw_poly(x, n, c, h, w, wt, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bias, lo, hi, clip, y,
                threads))
        return;
    const gk_conv_kernels *K = gk_k.conv;
    long padh = (oh - 1) * sh + (kh - 1) * dh + 1, padw = (ow - 1) * sw + (kw - 1) * dw + 1;
    long planes = n * c;
    int fast3x3 = kh == 3 && kw == 3 && dh == 1 && dw == 1 && (sw == 1 || (sw == 2 && K->dw3x3s2_row));
    dw_job j = {K, x, wt, bias, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, padh, padw, lo,
                hi, clip, fast3x3, y, {0, {NULL}}};
    gk_seat_bufs_init(&j.bufs, (size_t)((padh + 1) * padw) * sizeof(float));
    gk_parallel_range(planes, planes * oh * ow * kh * kw > 32768 ? threads : 1, dw_planes_rows,
                      &j);
    gk_seat_bufs_free(&j.bufs);
}

/* ---- convs of small output planes (gk_conv_cvec) ------------------------------------------ */

#define CVEC_CHUNK 64  /* output channels per work item (a multiple of every level's tile) */
#define CVEC_PIXELS 24 /* output pixels per work item (a multiple of the tiles' 6) */

size_t gk_conv_cvec_work(long n, long c, long kh, long kw, long oh, long ow, long m) {
    return (size_t)(n * oh * ow * c * kh * kw + (m + 15) / 16 * 16);
}

typedef struct {
    const gk_conv_kernels *K;
    const float *r, *wp, *bp;
    long pixels, p, k, m, groups;
    float lo, hi;
    float *y;
} cvec_job;

/* items [t0, t1): (chunk of CVEC_CHUNK output channels, group of CVEC_PIXELS pixels of the
 * batch), the pixels innermost so that a thread's consecutive items share the weights */
static void cvec_items(void *ctx, long t0, long t1, int seat) {
    const cvec_job *j = (const cvec_job *)ctx;
    (void)seat;
    for (long t = t0; t < t1; t++) {
        long o0 = t / j->groups * CVEC_CHUNK, g0 = t % j->groups * CVEC_PIXELS;
        j->K->cvec_rows(j->r, g0, GK_MIN(j->pixels, g0 + CVEC_PIXELS), j->p, j->k, j->wp, j->m,
                        j->bp, j->lo, j->hi, o0, GK_MIN(j->m, o0 + CVEC_CHUNK), j->y);
    }
}

/* one image's taps, output pixel by pixel: the row of pixel (oy, ox) holds, channel by channel,
 * its kh x kw window (zeros where it lies in the padding); the taps inside the input row are
 * [kx0, kx1) for every channel and row of the window */
static void cvec_gather(const float *x, long c, long h, long w, long kh, long kw, long sh, long sw,
                        long dh, long dw, long ph, long pw, long oh, long ow, float *r) {
    for (long oy = 0; oy < oh; oy++)
        for (long ox = 0; ox < ow; ox++) {
            long ix0 = ox * sw - pw, kx0 = 0, kx1 = kw;
            while (kx0 < kw && ix0 + kx0 * dw < 0) kx0++;
            while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= w) kx1--;
            for (long ci = 0; ci < c; ci++) {
                const float *plane = x + ci * h * w;
                for (long ky = 0; ky < kh; ky++, r += kw) {
                    long iy = oy * sh - ph + ky * dh;
                    if (iy < 0 || iy >= h) {
                        for (long kx = 0; kx < kw; kx++) r[kx] = 0.0f;
                        continue;
                    }
                    const float *row = plane + iy * w;
                    for (long kx = 0; kx < kx0; kx++) r[kx] = 0.0f;
                    for (long kx = kx0; kx < kx1; kx++) r[kx] = row[ix0 + kx * dw];
                    for (long kx = kx1; kx < kw; kx++) r[kx] = 0.0f;
                }
            }
        }
}

int gk_conv_cvec(const float *x, long n, long c, long h, long w, const float *wp, long m, long kh,
                 long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                 const float *bias, float lo, float hi, int clip, float *y, float *work,
                 int threads) {
    const gk_conv_kernels *K = gk_k.conv;
    if (!K->cvec_rows) return 0;
    long p = oh * ow, k = c * kh * kw;
    float *bp = work + n * p * k; /* the bias, zeros past m to the last panel's end */
    for (long o = 0; o < (m + 15) / 16 * 16; o++) bp[o] = bias && o < m ? bias[o] : 0.0f;
    for (long i = 0; i < n; i++)
        cvec_gather(x + i * c * h * w, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                    work + i * p * k);
    if (!clip) lo = -INFINITY, hi = INFINITY;
    long chunks = (m + CVEC_CHUNK - 1) / CVEC_CHUNK, pixels = n * p;
    long groups = (pixels + CVEC_PIXELS - 1) / CVEC_PIXELS;
    double macs = (double)pixels * m * k;
    cvec_job j = {K, work, wp, bp, pixels, p, k, m, groups, lo, hi, y};
    gk_parallel_range(chunks * groups, macs > 524288.0 ? threads : 1, cvec_items, &j);
    return 1;
}

/* floats of work gk_conv_direct needs */
size_t gk_conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw, long dh,
                           long dw, long ph, long pw, long oh, long ow) {
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    return (size_t)(c * g.sh * g.sw * g.plane + g.wq + SP_SLACK);
}

typedef struct {
    const gk_conv_kernels *K;
    const sp_geo *g;
    const float *xi; /* the image */
    float *work;
    const long *off;
    long k;
    const float *wt_t;
    long ldw, m;
    const float *bp;
    float lo, hi;
    long oh, ow, per_c, hw;
    float *yi;
} direct_job;

/* (channel, row phase) pairs [t0, t1) of the image's polyphase rows */
static void direct_build(void *ctx, long t0, long t1, int seat) {
    const direct_job *j = (const direct_job *)ctx;
    (void)seat;
    for (long tk = t0; tk < t1; tk++) {
        long ci = tk / j->g->sh, a = tk % j->g->sh;
        j->K->poly_build_rows(j->g, j->xi + ci * j->hw, j->work + ci * j->per_c, 0.0f, a);
    }
}

/* output rows [r0, r1) of the image */
static void direct_rows(void *ctx, long r0, long r1, int seat) {
    const direct_job *j = (const direct_job *)ctx;
    (void)seat;
    for (long oy = r0; oy < r1; oy++)
        j->K->direct_row(j->g, j->work, j->off, j->k, j->wt_t, j->ldw, j->m, j->bp, j->lo, j->hi,
                         oy, j->oh, j->ow, j->yi);
}

int gk_conv_direct(const float *x, long n, long c, long h, long w, const float *wt_t, long m,
                   long ldw, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                   long pw, long oh, long ow, const float *bias, float lo, float hi, int clip,
                   float *y, float *work, int threads) {
    const gk_conv_kernels *K = gk_k.conv;
    long k = c * kh * kw;
    if (!gk_polyphase_on || !K->direct_row || k > 1024 || ldw < m || ldw % 16) return 0;
    sp_geo g;
    sp_geo_init(&g, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long per_c = g.sh * g.sw * g.plane;
    long *off = (long *)malloc((size_t)k * sizeof(long));
    float *bp = (float *)malloc((size_t)ldw * sizeof(float)); /* bias, zeros past m */
    if (!off || !bp) {
        free(off);
        free(bp);
        return 0;
    }
    for (long o = 0; o < ldw; o++) bp[o] = bias && o < m ? bias[o] : 0.0f;
    sp_taps(&g, kh, kw, dh, dw, off);
    for (long ci = 1; ci < c; ci++) /* channel ci's phases follow channel ci - 1's */
        for (long t = 0; t < kh * kw; t++) off[ci * kh * kw + t] = ci * per_c + off[t];
    if (!clip) lo = -INFINITY, hi = INFINITY;
    sp_fill(work + c * per_c, g.wq + SP_SLACK, 0.0f);
    long tasks = c * g.sh; /* (channel, row phase) pairs to build */
    int nt = m * oh * ow * k > 65536 ? threads : 1;
    direct_job j = {K, &g, NULL, work, off, k, wt_t, ldw, m, bp, lo, hi, oh, ow, per_c, h * w,
                    NULL};
    for (long i = 0; i < n; i++) {
        j.xi = x + i * c * h * w;
        j.yi = y + i * m * oh * ow;
        gk_parallel_range(tasks, nt, direct_build, &j);
        gk_parallel_range(oh, nt, direct_rows, &j);
    }
    free(off);
    free(bp);
    return 1;
}
