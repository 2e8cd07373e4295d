/* Packed SGEMM with a fused epilogue: the drivers (packing, the split of C between threads, the
 * cache blocking); the register kernels of each SIMD level are in gemm_kernels.inc.
 *
 * Packed A: 12-row panels (K x 12, k-major); packed B: 16-column panels (K x 16, k-major), whole K
 * contiguous so one packing serves any K blocking; constant operands (weights) are packed once at
 * prepare time.
 *
 * Threads: the pool's (threadpool.h). C is split into a grid of rectangular blocks (grid_for)
 * (pm x pn chosen to balance the level's register blocks; the larger operand is the one split),
 * claimed one at a time; a left operand packed per call is packed first, in a pool call of its own
 * (panels shared between the threads). Who computes a block does not change its bits: every
 * element is the same sum over K in the same order. Inside a block (the level's `block` kernel):
 * K in blocks of KC, M in blocks of MC rows, then B micro-panels (kept in L1) against the A
 * micro-panels of the M block (streamed from L2; at AVX-512 a block of 33-256 columns runs A panel
 * outer instead, its B K block in L2: the weights then stream from memory over the whole
 * product). Software prefetches cover what the hardware prefetchers miss: the next A and B
 * micro-panels, the C tile two column panels ahead (AVX-512 kernel) and, while packing B, its rows.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "gemm.h"
#include "isa.h"
#include "threadpool.h"

/* K block and M block (rows) of the cache blocking: a 32-column B micro-panel of KC rows is 32 KiB
 * at KC 256 (L1 48 KiB on Zen 5), an A block MC x KC 144 KiB (L2 1 MiB). */
static long g_kc = 256, g_mc = 144;
/* prefetch distance of B's rows while packing: GK_PFB_PANELS 16-column panels ahead (measured on
 * 1x1 convolutions of MobileNetV2 with cold caches: 1.3-2x faster with this and the AVX-512
 * kernel's C prefetch; no change when the operands are cached) */
#define GK_PFB_PANELS 4

/* the K block for a product of depth k: one block where splitting would leave a last block of at
 * most half a block (K = 384 with KC 256: 256 + 128, the C tile loaded and stored once more for a
 * short block; measured 2-4 % slower than one block of 384 on MiniLM's 128 x 384 x N products) */
static long kc_for(long k) { return k > g_kc && k <= g_kc + g_kc / 2 ? k : g_kc; }

/* M block of a thin product's (K <= GK_THIN_K) block of many columns: a 12 x 32 tile there is 64
 * k-steps of FMAs against 24 lines of C stored (and a residual's 24 read), so rather than 144 rows
 * of C (144 rows 12.5 KiB apart at N = 3136, pages and streams past what the TLB and the
 * prefetchers follow) per B micro-panel, 2 A panels sweep the block's columns (B, 64 x N, stays in
 * L2). ResNet-50's 64 -> 256 1x1 convs at 56x56 in the model at 1 thread: 0.77-0.93x the time
 * with 144 rows. At 2 threads their column blocks of 384 took 0.88-1.18x (those with a residual
 * slower), hence the block width. */
#define GK_THIN_K 64
#define GK_THIN_N 1024
static long g_mc_thin = 2 * GK_MR;
/* the widest block the AVX-512 kernel runs A panel outer (gemm_kernels.inc block_narrow) */
long gk_gemm_narrow_n = 256;
/* gemm.h: the B prefetch's spread. A tile's slice of the next micro-panel (MiniLM's K 384: ~64
 * lines of B from L3) asked for one line a k-step kept that many misses in flight at the tile's
 * start; one line every ~6 k-steps, and the next K block's first micro-panel fetched by the
 * last: whole MiniLM runs 0.955-0.961x the time at 1 thread, 0.962-0.968x at 2 (one session,
 * the switch alternated; benchmarks/results/fp32_minilm_2t.md "Session 30 (mlm)"). Convs (A the
 * weights, B the activations) keep 0 until measured (2 turns it on for them). */
long gk_gemm_pfb_mode = 1;

void gk_gemm_tune_pfb(long mode, long *old) {
    *old = gk_gemm_pfb_mode;
    if (mode >= 0) gk_gemm_pfb_mode = mode;
}

/* tuning: blocks per thread (0 the rule), grid shape (0 the model, 1 rows only, 2 columns only) */
static long g_grid_per = 0, g_grid_shape = 0;

/* C[m0:m1, n0:n1] by the level's kernel, the M block the thin rule's where it applies */
static void run_block(const gk_gemm_args *g, long m0, long m1, long n0, long n1) {
    if (g->k <= GK_THIN_K && n1 - n0 >= GK_THIN_N && g_mc_thin != g->mc) {
        gk_gemm_args b = *g;
        b.mc = g_mc_thin;
        gk_k.gemm->block(&b, m0, m1, n0, n1);
        return;
    }
    gk_k.gemm->block(g, m0, m1, n0, n1);
}

void gk_gemm_tune_thin(long mc, long *old) {
    *old = g_mc_thin;
    if (mc > 0) g_mc_thin = (mc + GK_MR - 1) / GK_MR * GK_MR;
}

void gk_gemm_tune_narrow(long n, long *old) {
    *old = gk_gemm_narrow_n;
    if (n >= 0) gk_gemm_narrow_n = n;
}

void gk_gemm_tune_grid(long per, long shape, long *old) {
    old[0] = g_grid_per, old[1] = g_grid_shape;
    if (per >= 0) g_grid_per = per;
    if (shape >= 0) g_grid_shape = shape;
}

long gk_gemm_kc(long k) { return kc_for(k); }


void gk_gemm_tune(long kc, long mc, long *old) {
    old[0] = g_kc;
    old[1] = g_mc;
    if (kc > 0) g_kc = kc;
    if (mc > 0) g_mc = (mc + GK_MR - 1) / GK_MR * GK_MR;
}

size_t gk_packed_a_size(long m, long k) {
    return (size_t)((m + GK_MR - 1) / GK_MR) * GK_MR * (size_t)(k > 0 ? k : 1);
}

size_t gk_packed_b_size(long k, long n) {
    return (size_t)((n + GK_NR - 1) / GK_NR) * GK_NR * (size_t)(k > 0 ? k : 1);
}

/* ---- packing ------------------------------------------------------------------------------- */

/* K slice of A's packing (s_k == 1): 64 rows of a 12-row panel are 3 KiB */
#define GK_PACK_KS 64

static void pack_a_panels(long m, long k, const float *a, long s_m, long s_k, float *out, long p0,
                          long p1) {
    for (long p = p0; p < p1; p++) {
        float *dst = out + p * k * GK_MR;
        long rows = GK_MIN(GK_MR, m - p * GK_MR);
        const float *src = a + p * GK_MR * s_m;
        if (rows < GK_MR) memset(dst, 0, (size_t)(k * GK_MR) * sizeof(float));
        if (s_k == 1 && rows == GK_MR && gk_k.gemm->pack_a12) {
            gk_k.gemm->pack_a12(src, s_m, k, dst); /* the level's register transposes */
        } else if (s_k == 1 && rows == GK_MR) {
            /* the 12 rows read side by side, the panel written in order (row by row, a panel of
             * K = 1536 is 72 KiB and every row's pass missed L1: MiniLM's 128 x 1536 left
             * operand took 270 us to pack, a fifth of its product; this way 65 us) */
            for (long kk = 0; kk < k; kk++)
#pragma GCC unroll 12
                for (long r = 0; r < GK_MR; r++) dst[kk * GK_MR + r] = src[r * s_m + kk];
        } else if (s_k == 1) {
            /* a last partial panel, row by row in K slices of GK_PACK_KS (the slice of the panel
             * stays in L1 across the rows) */
            for (long k0 = 0; k0 < k; k0 += GK_PACK_KS) {
                long k1 = GK_MIN(k, k0 + GK_PACK_KS);
                for (long r = 0; r < rows; r++) {
                    const float *s = src + r * s_m;
                    for (long kk = k0; kk < k1; kk++) dst[kk * GK_MR + r] = s[kk];
                }
            }
        } else {
            for (long kk = 0; kk < k; kk++)
                for (long r = 0; r < rows; r++) dst[kk * GK_MR + r] = src[r * s_m + kk * s_k];
        }
    }
}

/* B with unit column stride: whole panels packed GK_PACKB_GROUP at a time, K in slices of
 * GK_PACKB_KS rows; per slice each panel in turn (its rows of the slice), so every row of B is read
 * in runs of 8 x 64 bytes over the slice instead of one line per panel, and each panel's slice is
 * written in order. Measured alone at one thread (the source warm): 256 x 3136 385 -> 225 us,
 * 128 x 3136 146 -> 100 us, 64 x 3136 35 -> 22 us, 1024 x 196 42 -> 24 us, 512 x 784 alike;
 * 8 panels per row without the K slices (8 write streams 16 KiB apart) was slower at K <= 128 and
 * K = 512, and a software prefetch of the next group's rows slowed every shape. */
#define GK_PACKB_GROUP 8
#define GK_PACKB_KS 16

static void pack_b_group(long k, const float *src, long s_k, float *dst, long g) {
    for (long k0 = 0; k0 < k; k0 += GK_PACKB_KS) {
        long k1 = GK_MIN(k, k0 + GK_PACKB_KS);
        for (long q = 0; q < g; q++) {
            const float *s = src + q * GK_NR;
            float *d = dst + q * k * GK_NR;
            for (long kk = k0; kk < k1; kk++)
                memcpy(d + kk * GK_NR, s + kk * s_k, GK_NR * sizeof(float));
        }
    }
}

static void pack_b_panels(long k, long n, const float *b, long s_k, long s_n, float *out, long p0,
                          long p1) {
    if (s_n == 1) { /* whole panels in groups */
        long whole = GK_MIN(p1, n / GK_NR);
        while (p0 < whole) {
            long g = GK_MIN(GK_PACKB_GROUP, whole - p0);
            pack_b_group(k, b + p0 * GK_NR, s_k, out + p0 * k * GK_NR, g);
            p0 += g;
        }
    }
    for (long p = p0; p < p1; p++) {
        float *dst = out + p * k * GK_NR;
        long cols = GK_MIN(GK_NR, n - p * GK_NR);
        const float *src = b + p * GK_NR * s_n;
        if (s_k == 1 && s_n != 1 && cols == GK_NR && gk_k.gemm->pack_bt16) {
            gk_k.gemm->pack_bt16(src, s_n, k, dst); /* B = X^T: register transposes */
            continue;
        }
        for (long kk = 0; kk < k; kk++) {
            const float *row = src + kk * s_k;
            float *d = dst + kk * GK_NR;
            if (s_n == 1) {
                /* one read stream per row of B, more than the hardware prefetchers follow: fetch
                 * the same row a few panels on */
                if ((p + GK_PFB_PANELS) * GK_NR < n)
                    __builtin_prefetch(row + GK_PFB_PANELS * GK_NR, 0, 3);
                if (cols == GK_NR) /* a fixed size: inlined, not a libc call per 64 bytes */
                    memcpy(d, row, GK_NR * sizeof(float));
                else
                    memcpy(d, row, (size_t)cols * sizeof(float));
            } else {
                for (long j = 0; j < cols; j++) d[j] = row[j * s_n];
            }
            for (long j = cols; j < GK_NR; j++) d[j] = 0.0f;
        }
    }
}

void gk_pack_b_panels(long k, long n, const float *b, long s_k, long s_n, float *out, long p0,
                      long p1) {
    pack_b_panels(k, n, b, s_k, s_n, out, p0, p1);
}

/* panel rows (k x panels) from which packing is split between threads: 4096 rows of 16 floats are
 * 256 KiB, about 15 us of copying (a pool call costs about a microsecond) */
#define GK_PACK_PAR 4096

typedef struct {
    long m, k, s_m, s_k;
    const float *src;
    float *out;
} pack_job;

static void pack_a_range(void *ctx, long p0, long p1, int seat) {
    const pack_job *j = (const pack_job *)ctx;
    (void)seat;
    pack_a_panels(j->m, j->k, j->src, j->s_m, j->s_k, j->out, p0, p1);
}

static void pack_b_range(void *ctx, long p0, long p1, int seat) {
    const pack_job *j = (const pack_job *)ctx;
    (void)seat;
    pack_b_panels(j->k, j->m, j->src, j->s_m, j->s_k, j->out, p0, p1);
}

void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads) {
    long panels = (m + GK_MR - 1) / GK_MR;
    pack_job j = {m, k, s_m, s_k, a, out};
    gk_parallel_range(panels, panels * k > GK_PACK_PAR ? threads : 1, pack_a_range, &j);
}

/* (pack_job's m is B's n, s_m its s_k, s_k its s_n) */
void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads) {
    long panels = (n + GK_NR - 1) / GK_NR;
    pack_job j = {n, k, s_k, s_n, b, out};
    gk_parallel_range(panels, panels * k > GK_PACK_PAR ? threads : 1, pack_b_range, &j);
}

/* Per-thread reusable buffers (threadpool.h's gk_tls_buffer), so packing does not allocate and
 * page-fault on every call. */
static __thread gk_tls_buffer tl_buf[2];

static float *tls_get(int slot, size_t n) {
    return (float *)gk_tls_grow(&tl_buf[slot], n * sizeof(float));
}

/* ---- partitioning and drivers ------------------------------------------------------------- */

static long col_unit(void) { return gk_k.gemm->col_unit; }

/* grid pm x pn (pm * pn = T): the least time per thread, modelled as its FMAs (rows x cols of
 * whole tiles, 32 multiply-adds per cycle) plus its share of both operands read from L3 (rows +
 * cols, about 16 bytes per cycle), both per k; ties split the larger operand */
static void grid_cu(long m, long n, long cu, int T, int *pm_out, int *pn_out) {
    long um = (m + GK_MR - 1) / GK_MR, un = (n + cu - 1) / cu;
    double best = -1.0;
    for (int pm = 1; pm <= T; pm++) {
        if (T % pm) continue;
        int pn = T / pm;
        double rows = (double)((um + pm - 1) / pm * GK_MR), cols = (double)((un + pn - 1) / pn * cu);
        double cost = rows * cols / 32.0 + (rows + cols) / 4.0;
        int better = best < 0 || cost < best ||
                     (cost == best && (n >= m ? pn > *pn_out : pm > *pm_out));
        if (better) {
            best = cost;
            *pm_out = pm;
            *pn_out = pn;
        }
    }
}

/* threads simulated by grid_nt (more: grid_cu's model) */
#define GK_GRID_SIM 64

/* grid pm x pn (pm * pn = T blocks) for nt threads claiming the blocks in order (the pool's
 * gk_parallel): the least finishing time of a greedy claim, each block costing grid_cu's model
 * (its whole tiles of FMAs plus its rows and columns read) at its own size. grid_cu's largest
 * block alone misses that blocks of unequal size need not pair up: MiniLM's 128 x 1152 product
 * at 2 threads, 8 blocks of 4 and 5 column units alternating (one thread idle for a block's
 * difference at the end, ~10 % of the product) against 2 x 4 blocks that pair up. */
static void grid_nt(long m, long n, long cu, int T, int nt, int *pm_out, int *pn_out) {
    if (g_grid_shape) {
        *pm_out = g_grid_shape == 1 ? T : 1;
        *pn_out = g_grid_shape == 1 ? 1 : T;
        return;
    }
    if (nt <= 1 || nt >= T || nt > GK_GRID_SIM) {
        grid_cu(m, n, cu, T, pm_out, pn_out);
        return;
    }
    long um = (m + GK_MR - 1) / GK_MR, un = (n + cu - 1) / cu;
    double best = -1.0;
    for (int pm = 1; pm <= T; pm++) {
        if (T % pm) continue;
        int pn = T / pm;
        double fin[GK_GRID_SIM] = {0}, end = 0.0;
        for (int t = 0; t < T; t++) {
            int tm = t / pn, tn = t % pn, w = 0;
            double rows = (double)((um * (tm + 1) / pm - um * tm / pm) * GK_MR);
            double cols = (double)((un * (tn + 1) / pn - un * tn / pn) * cu);
            for (int q = 1; q < nt; q++) w = fin[q] < fin[w] ? q : w;
            if (rows > 0 && cols > 0) fin[w] += rows * cols / 32.0 + (rows + cols) / 4.0;
            end = fin[w] > end ? fin[w] : end;
        }
        int better = best < 0 || end < best ||
                     (end == best && (n >= m ? pn > *pn_out : pm > *pm_out));
        if (better) {
            best = end;
            *pm_out = pm;
            *pn_out = pn;
        }
    }
}

void gk_gemm_grid_part(long m, long n, long cu, int pm, int pn, int t, long *r) {
    long um = (m + GK_MR - 1) / GK_MR, un = (n + cu - 1) / cu;
    int tm = t / pn, tn = t % pn;
    r[0] = um * tm / pm * GK_MR, r[1] = GK_MIN(m, um * (tm + 1) / pm * GK_MR);
    r[2] = un * tn / pn * cu, r[3] = GK_MIN(n, un * (tn + 1) / pn * cu);
}

void gk_gemm_blocking(long *kc, long *mc) {
    *kc = g_kc;
    *mc = g_mc;
}

/* block t of the pm x pn grid, run with the current level's kernels */
static void run_part(const gk_gemm_args *g, int pm, int pn, int t) {
    long r[4];
    gk_gemm_grid_part(g->m, g->n, col_unit(), pm, pn, t, r);
    if (r[0] < r[1] && r[2] < r[3]) run_block(g, r[0], r[1], r[2], r[3]);
}

/* threads worth a pool call for an m x n x k product (about 2 us of work per extra thread) */
static int threads_for(double m, double n, double k, int threads) {
    double work = m * n * (k > 0 ? k : 1);
    int t = threads < 1 ? 1 : threads;
    while (t > 1 && work < 150000.0 * t) t--;
    return t;
}

/* blocks of the grid for nt threads: one per thread at 2 threads (larger blocks read A and B
 * fewer times, and a thin product's block is wide enough for its M rule: ResNet-50's convs in the
 * model 0.93-0.95x the time of 4 per thread, its 64 -> 256 1x1s at 56x56 0.63-0.81x, MiniLM 0.95x,
 * and no slower with a busy process on one core: the pool's take-back did not need the blocks);
 * more threads: 4 per thread where each keeps about 400000 multiply-adds (~4 us), else 2, else 1 */
static int blocks_for(double m, double n, double k, int nt) {
    double work = m * n * (k > 0 ? k : 1);
    if (g_grid_per > 0) return nt * (int)g_grid_per;
    if (nt <= 2) return nt;
    int per = work >= 4 * 400000.0 * nt ? 4 : work >= 2 * 400000.0 * nt ? 2 : 1;
    return nt * per;
}

int gk_gemm_threads(long m, long n, long k, int threads) {
    return threads_for((double)m, (double)n, (double)k, threads);
}

/* blocks of the grid for nt threads, fewer where the grid chosen for them would leave blocks empty
 * (an empty block balances nothing, and the grid it forced can be the worse one: ResNet-50's
 * 2048 -> 512 1x1 convs at 7x7, M 512 x N 49, took 1 x 8 blocks at 2 threads, 2 of them non-empty
 * and each reading all 4 MiB of weights, where 4 x 1 blocks read them once) */
static int grid_for(long m, long n, long k, int nt, int *pm, int *pn) {
    int blocks = blocks_for((double)m, (double)n, (double)k, nt);
    long cu = col_unit(), um = (m + GK_MR - 1) / GK_MR, un = (n + cu - 1) / cu;
    *pm = *pn = 1;
    if (nt <= 1) return 1;
    for (;;) {
        grid_nt(m, n, cu, blocks, nt, pm, pn);
        if (g_grid_per > 0 || blocks <= nt || (*pm <= um && *pn <= un)) return blocks;
        blocks /= 2;
    }
}

int gk_gemm_grid(long m, long n, long k, int nt, int *pm, int *pn) {
    return grid_for(m, n, k, nt, pm, pn);
}

typedef struct {
    gk_gemm_args g;
    int blocks, pm, pn;
} grid_job;

static void grid_block(void *ctx, long t, int seat) {
    const grid_job *j = (const grid_job *)ctx;
    (void)seat;
    run_part(&j->g, j->pm, j->pn, (int)t);
}

/* C = the packed product, its `blocks` blocks of the pm x pn grid over nt threads of the pool */
static void run_grid_as(const gk_gemm_args *g, int nt, int blocks, int pm, int pn) {
    grid_job j = {*g, blocks, pm, pn};
    if (nt <= 1) {
        run_part(g, 1, 1, 0);
        return;
    }
    gk_parallel(j.blocks, nt, grid_block, &j);
}

/* C = the packed product, its blocks over the pool (the grid chosen for nt threads) */
static void run_grid(const gk_gemm_args *g, int nt) {
    int pm, pn, blocks = grid_for(g->m, g->n, g->k, nt, &pm, &pn);
    run_grid_as(g, nt, blocks, pm, pn);
}

void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    gk_gemm_args g = {m, n, k, ap, bp, c, ldc, ep, kc_for(k), g_mc};
    run_grid(&g, threads_for((double)m, (double)n, (double)k, threads));
}

typedef struct {
    gk_gemm_args g;
    long blocks;
    void (*fill)(void *fctx, long p0, long p1, int seat);
    void *fctx;
} fill_job;

/* column block t of `blocks`: its B panels packed, then multiplied */
static void fill_block(void *ctx, long t, int seat) {
    const fill_job *j = (const fill_job *)ctx;
    long cu = col_unit(), un = (j->g.n + cu - 1) / cu;
    long n0 = un * t / j->blocks * cu, n1 = GK_MIN(j->g.n, un * (t + 1) / j->blocks * cu);
    if (n0 >= n1) return;
    j->fill(j->fctx, n0 / GK_NR, (n1 + GK_NR - 1) / GK_NR, seat);
    run_block(&j->g, 0, j->g.m, n0, n1);
}

void gk_gemm_fill_b(long m, long n, long k, const float *ap,
                    void (*fill)(void *fctx, long p0, long p1, int seat), void *fctx,
                    long fill_par, float *bp, float *c, long ldc, const gk_epilogue *ep,
                    int threads) {
    if (m <= 0 || n <= 0) return;
    gk_gemm_args g = {m, n, k, ap, bp, c, ldc, ep, kc_for(k), g_mc};
    int nt = threads_for((double)m, (double)n, (double)k, threads);
    int pm = 1, pn = 1;
    long blocks = grid_for(m, n, k, nt, &pm, &pn);
    if (pm > 1) { /* the grid splits the rows too: threads share panels, so all are packed first */
        long panels = (n + GK_NR - 1) / GK_NR;
        gk_parallel_range(panels, panels * k > fill_par ? threads : 1, fill, fctx);
        run_grid_as(&g, nt, (int)blocks, pm, pn);
        return;
    }
    long cu = col_unit(), un = (n + cu - 1) / cu;
    /* (more column blocks than the threads need, to keep each block's panels in L2, measured
     * 1-2 % slower at one thread on SqueezeNet and ResNet-18: A is then read once per block) */
    fill_job j = {g, GK_MIN(un, blocks), fill, fctx};
    if (nt <= 1) {
        for (long t = 0; t < j.blocks; t++) fill_block(&j, t, 0);
        return;
    }
    gk_parallel(j.blocks, nt, fill_block, &j);
}

/* A's bytes from which gk_gemm splits C by rows, each thread packing its own rows' panels in the
 * product's pool call. The column split (the grid model's choice for MatMul's products) has every
 * thread read all of packed A, half of it just written by the other core's pack call; at MiniLM's
 * FFN-down (A 128 x 1536, 768 KiB; B 1536 x 384) rows took 627-668 against 682-734 us at 2 threads
 * even with A packed by the separate call (conv_knob_ab, rows-only grid), while its products of a
 * 192 KiB A (K 384) were even or slower by rows. */
#define GK_OWN_ROWS_A (512L << 10)
/* the row cuts of that split are multiples of this: a register block of 4 rows keeps 8 FMA chains
 * in flight (both FMA ports busy through their latency), so a thread's last partial panel costs
 * about its rows; fewer rows leave the ports idle */
#define GK_ROW_CUT 4

/* row cuts in panels (1) or rows (0): the A/B switch of the even cut (ext().gemm_tune_rows) */
static long g_rows_by_panels = 0;

void gk_gemm_tune_rows(long by_panels, long *old) {
    *old = g_rows_by_panels;
    if (by_panels >= 0) g_rows_by_panels = by_panels;
}

typedef struct {
    gk_gemm_args g;
    pack_job pj;
    int pm;
} rows_job;

/* first row of row block t of pm: an even cut of the rows (to GK_ROW_CUT), or of whole panels */
static long rows_cut(long m, int pm, int t) {
    if (t >= pm) return m;
    if (g_rows_by_panels) return GK_MIN(m, (m + GK_MR - 1) / GK_MR * t / pm * GK_MR);
    return GK_MIN(m, (m * t / pm + GK_ROW_CUT / 2) / GK_ROW_CUT * GK_ROW_CUT);
}

/* row block t of pm: its rows packed into panels of its own (from its first row: a cut inside a
 * panel of the whole gives each side a partial panel), then its product on them, C, the residual
 * and the row vectors shifted to its first row; each element is the same sum as by panels of the
 * whole (a panel's rows are independent). Block t's panels start at panel t + r0 / GK_MR of the
 * buffer (gk_gemm sizes it for nt - 1 extra panels): past the panels of blocks before it. */
static void rows_block(void *ctx, long t, int seat) {
    const rows_job *j = (const rows_job *)ctx;
    const gk_gemm_args *g = &j->g;
    (void)seat;
    long r0 = rows_cut(g->m, j->pm, (int)t), r1 = rows_cut(g->m, j->pm, (int)t + 1);
    if (r0 >= r1) return;
    const pack_job *p = &j->pj;
    float *ap = p->out + (t + r0 / GK_MR) * p->k * GK_MR;
    pack_a_panels(r1 - r0, p->k, p->src + r0 * p->s_m, p->s_m, p->s_k, ap, 0,
                  (r1 - r0 + GK_MR - 1) / GK_MR);
    const gk_epilogue *e0 = g->ep;
    gk_epilogue e = *e0;
    if (e0->bias_row) e.bias_row = e0->bias_row + r0;
    if (e0->slope_row) e.slope_row = e0->slope_row + r0;
    if (e0->residual) e.residual = e0->residual + r0 * e0->ld_residual;
    gk_gemm_args b = *g;
    b.m = r1 - r0;
    b.ap = ap;
    b.c = g->c + r0 * g->ldc;
    b.ep = &e;
    run_block(&b, 0, b.m, 0, b.n);
}

/* rows for nt threads where A is large (or the grid is forced to rows), each row block at least
 * one panel; a forced column grid keeps the shared pack */
static int own_rows(long m, long k, int nt) {
    if (nt <= 1 || g_grid_shape == 2 || g_grid_per > 0 || (m + GK_MR - 1) / GK_MR < nt) return 0;
    return g_grid_shape == 1 || (double)m * (double)k * sizeof(float) >= (double)GK_OWN_ROWS_A;
}

void gk_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const float *bp,
             float *c, long ldc, const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    long panels = (m + GK_MR - 1) / GK_MR;
    int nt = threads_for((double)m, (double)n, (double)k, threads);
    int rows = own_rows(m, k, nt);
    /* own row blocks: up to one partial panel more per block after the first */
    float *ap = tls_get(0, gk_packed_a_size(m + (rows ? (nt - 1) * GK_MR : 0), k));
    if (!ap) return;
    gk_gemm_args g = {m, n, k, ap, bp, c, ldc, ep, kc_for(k), g_mc, 1};
    pack_job pj = {m, k, s_m, s_k, a, ap};
    if (rows) {
        rows_job j = {g, pj, nt};
        gk_parallel(nt, nt, rows_block, &j);
        return;
    }
    gk_parallel_range(panels, nt, pack_a_range, &pj);
    run_grid(&g, nt);
}

typedef struct {
    long m, n, k, a_bs, s_m, s_k, bp_bs, c_bs, ldc, r_bs, b_bs, b_sk, b_sn;
    const float *a, *b, *bp;
    float *c;
    const gk_epilogue *ep;
    size_t asz, bsz;
} batch_job;

/* gk_gemm_batched's batches [i0, i1), each whole on this thread (its own packed A) */
static void gemm_batches(void *ctx, long i0, long i1, int seat) {
    const batch_job *j = (const batch_job *)ctx;
    long m = j->m, k = j->k, panels = (m + GK_MR - 1) / GK_MR;
    float *ap = tls_get(0, j->asz);
    (void)seat;
    if (!ap) return;
    long packed = -1;
    gk_epilogue e = *j->ep;
    for (long i = i0; i < i1; i++) {
        long src = j->a_bs ? i : 0;
        if (src != packed) pack_a_panels(m, k, j->a + src * j->a_bs, j->s_m, j->s_k, ap, 0, panels);
        packed = src;
        e.residual = j->ep->residual ? j->ep->residual + i * j->r_bs : NULL;
        gk_gemm_args g = {m, j->n, k, ap, j->bp + i * j->bp_bs, j->c + i * j->c_bs, j->ldc, &e,
                          kc_for(k), g_mc, 1};
        run_part(&g, 1, 1, 0);
    }
}

void gk_gemm_batched(long batch, long m, long n, long k, const float *a, long a_bs, long s_m,
                     long s_k, const float *bp, long bp_bs, float *c, long c_bs, long ldc,
                     const gk_epilogue *ep, long r_bs, int threads) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    size_t asz = gk_packed_a_size(m, k);
    long panels = (m + GK_MR - 1) / GK_MR;
    int nt = threads_for((double)batch * m, (double)n, (double)k, threads);
    /* whole batches per thread when they divide evenly (or are many), else all threads on each */
    batch_job bj = {m, n, k, a_bs, s_m, s_k, bp_bs, c_bs, ldc, r_bs, 0, 0, 0, a, NULL, bp, c, ep,
                    asz, 0};
    if (nt == 1 || batch % nt == 0 || batch >= 4L * nt) {
        gk_parallel_range(batch, nt, gemm_batches, &bj);
        return;
    }
    float *shared = tls_get(0, asz);
    if (!shared) return;
    gk_epilogue e = *ep;
    for (long i = 0; i < batch; i++) {
        if (i == 0 || a_bs) {
            pack_job pj = {m, k, s_m, s_k, a + i * a_bs, shared};
            gk_parallel_range(panels, nt, pack_a_range, &pj);
        }
        e.residual = ep->residual ? ep->residual + i * r_bs : NULL;
        gk_gemm_args g = {m, n, k, shared, bp + i * bp_bs, c + i * c_bs, ldc, &e, kc_for(k),
                          g_mc, 1};
        run_grid(&g, nt);
    }
}

/* gk_matmul_batched's batches [i0, i1), each whole on this thread (its own packed A and B) */
static void matmul_batches(void *ctx, long i0, long i1, int seat) {
    const batch_job *j = (const batch_job *)ctx;
    long m = j->m, n = j->n, k = j->k;
    long apan = (m + GK_MR - 1) / GK_MR, bpan = (n + GK_NR - 1) / GK_NR;
    gk_epilogue ep = {NULL, NULL, 0.0f, 0.0f, 0};
    float *ap = tls_get(0, j->asz), *bp = tls_get(1, j->bsz);
    (void)seat;
    if (!ap || !bp) return;
    for (long i = i0; i < i1; i++) {
        pack_a_panels(m, k, j->a + i * j->a_bs, j->s_m, j->s_k, ap, 0, apan);
        pack_b_panels(k, n, j->b + i * j->b_bs, j->b_sk, j->b_sn, bp, 0, bpan);
        gk_gemm_args g = {m, n, k, ap, bp, j->c + i * j->c_bs, n, &ep, kc_for(k), g_mc};
        run_part(&g, 1, 1, 0);
    }
}

/* C[b] = A[b] @ B[b] for b < batch, both operands packed per batch (neither is constant). A batch
 * stride of 0 broadcasts that operand. Whole batches per thread when there are enough of them. */
void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs, long a_sm,
                       long a_sk, const float *b, long b_bs, long b_sk, long b_sn, float *c,
                       long c_bs, int threads) {
    if (batch <= 0 || m <= 0 || n <= 0) return;
    gk_epilogue ep = {NULL, NULL, 0.0f, 0.0f, 0};
    size_t asz = gk_packed_a_size(m, k), bsz = gk_packed_b_size(k, n);
    long apan = (m + GK_MR - 1) / GK_MR, bpan = (n + GK_NR - 1) / GK_NR;
    int nt = threads_for((double)batch * m, (double)n, (double)k, threads);
    batch_job bj = {m, n, k, a_bs, a_sm, a_sk, 0, c_bs, n, 0, b_bs, b_sk, b_sn, a, b, NULL, c, &ep,
                    asz, bsz};
    if (nt == 1 || batch % nt == 0 || batch >= 4L * nt) {
        gk_parallel_range(batch, nt, matmul_batches, &bj);
        return;
    }
    float *sa = tls_get(0, asz), *sb = tls_get(1, bsz);
    if (!sa || !sb) return;
    for (long i = 0; i < batch; i++) {
        pack_job pa = {m, k, a_sm, a_sk, a + i * a_bs, sa};
        pack_job pb = {n, k, b_sk, b_sn, b + i * b_bs, sb};
        gk_parallel_range(apan, nt, pack_a_range, &pa);
        gk_parallel_range(bpan, nt, pack_b_range, &pb);
        gk_gemm_args g = {m, n, k, sa, sb, c + i * c_bs, n, &ep, kc_for(k), g_mc};
        run_grid(&g, nt);
    }
}

typedef struct {
    float *y;
    long rows, cols, ldy;
    const gk_epilogue *ep;
} epi_job;

/* 16-row units [u0, u1) */
static void epilogue_units(void *ctx, long u0, long u1, int seat) {
    const epi_job *j = (const epi_job *)ctx;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long r0 = u * 16, r = GK_MIN(16L, j->rows - r0);
        gk_k.gemm->epilogue(j->y + r0 * j->ldy, j->ldy, r, j->cols, j->ep, r0, 0, 1);
    }
}

void gk_epilogue_apply(float *y, long rows, long cols, long ldy, const gk_epilogue *ep,
                       int threads) {
    epi_job j = {y, rows, cols, ldy, ep};
    gk_parallel_range((rows + 15) / 16, rows * cols >= 65536 ? threads : 1, epilogue_units, &j);
}
