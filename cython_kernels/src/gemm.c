/* Packed SGEMM with a fused epilogue: the drivers (packing, the split of C between threads, the
 * cache blocking); the register kernels of each SIMD level are in gemm_kernels.inc.
 *
 * Packed A: 12-row panels (K x 12, k-major); packed B: 16-column panels (K x 16, k-major), whole K
 * contiguous so one packing serves any K blocking; constant operands (weights) are packed once at
 * prepare time.
 *
 * Threads: one OpenMP parallel region per call. C is split into one rectangular block per thread
 * (a grid pm x pn = threads, chosen to balance the level's register blocks; the larger operand is
 * the one split), left operand packing happens inside the same region (each thread packs a share,
 * then a barrier). Inside a block (the level's `block` kernel): K in blocks of KC, M in blocks of
 * MC rows, then B micro-panels (kept in L1) against the A micro-panels of the M block (streamed
 * from L2). Software prefetches cover what the hardware prefetchers miss: the next A and B
 * micro-panels, the C tile two column panels ahead (AVX-512 kernel) and, while packing B, its rows.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "gemm.h"
#include "isa.h"
#include "threads.h"

/* K block and M block (rows) of the cache blocking: a 32-column B micro-panel of KC rows is 32 KiB
 * at KC 256 (L1 48 KiB on Zen 5), an A block MC x KC 144 KiB (L2 1 MiB). */
static long g_kc = 256, g_mc = 144;
/* prefetch distance of B's rows while packing: GK_PFB_PANELS 16-column panels ahead (measured on
 * 1x1 convolutions of MobileNetV2 with cold caches: 1.3-2x faster with this and the AVX-512
 * kernel's C prefetch; no change when the operands are cached) */
#define GK_PFB_PANELS 4

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

static void pack_a_panels(long m, long k, const float *a, long s_m, long s_k, float *out, long p0,
                          long p1) {
    for (long p = p0; p < p1; p++) {
        float *dst = out + p * k * GK_MR;
        long rows = GK_MIN(GK_MR, m - p * GK_MR);
        const float *src = a + p * GK_MR * s_m;
        if (rows < GK_MR) memset(dst, 0, (size_t)(k * GK_MR) * sizeof(float));
        if (s_k == 1) {
            /* row by row: reads stay sequential */
            for (long r = 0; r < rows; r++) {
                const float *s = src + r * s_m;
                for (long kk = 0; kk < k; kk++) dst[kk * GK_MR + r] = s[kk];
            }
        } else {
            for (long kk = 0; kk < k; kk++)
                for (long r = 0; r < rows; r++) dst[kk * GK_MR + r] = src[r * s_m + kk * s_k];
        }
    }
}

static void pack_b_panels(long k, long n, const float *b, long s_k, long s_n, float *out, long p0,
                          long p1) {
    for (long p = p0; p < p1; p++) {
        float *dst = out + p * k * GK_NR;
        long cols = GK_MIN(GK_NR, n - p * GK_NR);
        const float *src = b + p * GK_NR * s_n;
        for (long kk = 0; kk < k; kk++) {
            const float *row = src + kk * s_k;
            float *d = dst + kk * GK_NR;
            if (s_n == 1) {
                /* one read stream per row of B, more than the hardware prefetchers follow: fetch
                 * the same row a few panels on */
                if ((p + GK_PFB_PANELS) * GK_NR < n)
                    __builtin_prefetch(row + GK_PFB_PANELS * GK_NR, 0, 3);
                memcpy(d, row, (size_t)cols * sizeof(float));
            } else {
                for (long j = 0; j < cols; j++) d[j] = row[j * s_n];
            }
            for (long j = cols; j < GK_NR; j++) d[j] = 0.0f;
        }
    }
}

/* panel rows (k x panels) from which packing is split between threads: 4096 rows of 16 floats are
 * 256 KiB, about 15 us of copying (a fork costs a few us) */
#define GK_PACK_PAR 4096

void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads) {
    long panels = (m + GK_MR - 1) / GK_MR;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > GK_PACK_PAR)
    for (long p = 0; p < panels; p++) pack_a_panels(m, k, a, s_m, s_k, out, p, p + 1);
}

void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads) {
    long panels = (n + GK_NR - 1) / GK_NR;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > GK_PACK_PAR)
    for (long p = 0; p < panels; p++) pack_b_panels(k, n, b, s_k, s_n, out, p, p + 1);
}

/* Per-thread reusable buffers (never freed; they grow to the largest size used), so packing does
 * not allocate and page-fault on every call. */
static __thread float *tl_buf[2];
static __thread size_t tl_cap[2];

static float *tls_get(int slot, size_t n) {
    if (n > tl_cap[slot]) {
        free(tl_buf[slot]);
        size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
        tl_buf[slot] = (float *)aligned_alloc(64, bytes);
        tl_cap[slot] = tl_buf[slot] ? n : 0;
    }
    return tl_buf[slot];
}

/* ---- partitioning and drivers ------------------------------------------------------------- */

static long col_unit(void) { return gk_k.gemm->col_unit; }

/* grid pm x pn (pm * pn = T): the least time per thread, modelled as its FMAs (rows x cols of
 * whole tiles, 32 multiply-adds per cycle) plus its share of both operands read from L3 (rows +
 * cols, about 16 bytes per cycle), both per k; ties split the larger operand */
static void grid(long m, long n, int T, int *pm_out, int *pn_out) {
    long cu = col_unit(), um = (m + GK_MR - 1) / GK_MR, un = (n + cu - 1) / cu;
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

/* thread t's block of the T-way grid, run with the current level's kernels */
static void run_part(const gk_gemm_args *g, int T, int t) {
    int pm = 1, pn = 1;
    if (T > 1) grid(g->m, g->n, T, &pm, &pn);
    long um = (g->m + GK_MR - 1) / GK_MR, cu = col_unit(), un = (g->n + cu - 1) / cu;
    int tm = t / pn, tn = t % pn;
    long m0 = um * tm / pm * GK_MR, m1 = GK_MIN(g->m, um * (tm + 1) / pm * GK_MR);
    long n0 = un * tn / pn * cu, n1 = GK_MIN(g->n, un * (tn + 1) / pn * cu);
    if (m0 >= m1 || n0 >= n1) return;
    gk_k.gemm->block(g, m0, m1, n0, n1);
}

/* threads worth forking for an m x n x k product (about 2 us of work per extra thread) */
static int threads_for(double m, double n, double k, int threads) {
    double work = m * n * (k > 0 ? k : 1);
    int t = threads < 1 ? 1 : threads;
    while (t > 1 && work < 150000.0 * t) t--;
    return t;
}

void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    gk_gemm_args g = {m, n, k, ap, bp, c, ldc, ep, g_kc, g_mc};
    int nt = threads_for((double)m, (double)n, (double)k, threads);
    if (nt == 1) {
        run_part(&g, 1, 0);
        return;
    }
#pragma omp parallel num_threads(nt)
    run_part(&g, gk_team_size(), gk_team_rank());
}

void gk_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const float *bp,
             float *c, long ldc, const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    long panels = (m + GK_MR - 1) / GK_MR;
    float *ap = tls_get(0, gk_packed_a_size(m, k));
    if (!ap) return;
    gk_gemm_args g = {m, n, k, ap, bp, c, ldc, ep, g_kc, g_mc};
    int nt = threads_for((double)m, (double)n, (double)k, threads);
    if (nt == 1) {
        pack_a_panels(m, k, a, s_m, s_k, ap, 0, panels);
        run_part(&g, 1, 0);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int T = gk_team_size(), t = gk_team_rank();
        pack_a_panels(m, k, a, s_m, s_k, ap, panels * t / T, panels * (t + 1) / T);
#pragma omp barrier
        run_part(&g, T, t);
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
    int per_thread = nt > 1 && (batch % nt == 0 || batch >= 4L * nt);
    float *shared = per_thread ? NULL : tls_get(0, asz);
    if (!per_thread && !shared) return;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int T = gk_team_size(), t = gk_team_rank();
        gk_epilogue e = *ep;
        if (per_thread) {
            float *ap = tls_get(0, asz);
            long packed = -1;
#pragma omp for schedule(static)
            for (long i = 0; i < batch; i++) {
                if (!ap) continue;
                long src = a_bs ? i : 0;
                if (src != packed) pack_a_panels(m, k, a + src * a_bs, s_m, s_k, ap, 0, panels);
                packed = src;
                e.residual = ep->residual ? ep->residual + i * r_bs : NULL;
                gk_gemm_args g = {m, n, k, ap, bp + i * bp_bs, c + i * c_bs, ldc, &e, g_kc, g_mc};
                run_part(&g, 1, 0);
            }
        } else {
            for (long i = 0; i < batch; i++) {
                if (i == 0 || a_bs) {
                    if (i > 0 && T > 1) {
#pragma omp barrier
                    }
                    pack_a_panels(m, k, a + i * a_bs, s_m, s_k, shared, panels * t / T,
                                  panels * (t + 1) / T);
                    if (T > 1) {
#pragma omp barrier
                    }
                }
                e.residual = ep->residual ? ep->residual + i * r_bs : NULL;
                gk_gemm_args g = {m, n, k, shared, bp + i * bp_bs, c + i * c_bs, ldc, &e, g_kc, g_mc};
                run_part(&g, T, t);
            }
        }
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
    int per_thread = nt > 1 && (batch % nt == 0 || batch >= 4L * nt);
    float *sa = per_thread ? NULL : tls_get(0, asz), *sb = per_thread ? NULL : tls_get(1, bsz);
    if (!per_thread && (!sa || !sb)) return;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int T = gk_team_size(), t = gk_team_rank();
        if (per_thread) {
            float *ap = tls_get(0, asz), *bp = tls_get(1, bsz);
#pragma omp for schedule(static)
            for (long i = 0; i < batch; i++) {
                if (!ap || !bp) continue;
                pack_a_panels(m, k, a + i * a_bs, a_sm, a_sk, ap, 0, apan);
                pack_b_panels(k, n, b + i * b_bs, b_sk, b_sn, bp, 0, bpan);
                gk_gemm_args g = {m, n, k, ap, bp, c + i * c_bs, n, &ep, g_kc, g_mc};
                run_part(&g, 1, 0);
            }
        } else {
            for (long i = 0; i < batch; i++) {
                if (i > 0 && T > 1) {
#pragma omp barrier
                }
                pack_a_panels(m, k, a + i * a_bs, a_sm, a_sk, sa, apan * t / T,
                              apan * (t + 1) / T);
                pack_b_panels(k, n, b + i * b_bs, b_sk, b_sn, sb, bpan * t / T,
                              bpan * (t + 1) / T);
                if (T > 1) {
#pragma omp barrier
                }
                gk_gemm_args g = {m, n, k, sa, sb, c + i * c_bs, n, &ep, g_kc, g_mc};
                run_part(&g, T, t);
            }
        }
    }
}

void gk_epilogue_apply(float *y, long rows, long cols, long ldy, const gk_epilogue *ep,
                       int threads) {
    long chunk = 16;
    long chunks = (rows + chunk - 1) / chunk;
    int nt = rows * cols >= 65536 ? threads : 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (long u = 0; u < chunks; u++) {
        long r0 = u * chunk, r = GK_MIN(chunk, rows - r0);
        gk_k.gemm->epilogue(y + r0 * ldy, ldy, r, cols, ep, r0, 0, 1);
    }
}
