/* Driver of the direct 1x1 conv (see conv1x1.h): the rule of which convs take it, and the split
 * of C between threads (gemm.h's grid, the same for every GEMM driver), each block run by the
 * level's kernel. */
#include "conv1x1.h"

#include "dispatch.h"
#include "isa.h"
#include "threadpool.h"

int gk_conv1x1_on = 1;

int gk_conv1x1_takes(long m, long n, long k) {
    if (!gk_conv1x1_on || !gk_k.conv1x1->block || m <= 0 || n <= 0 || k <= 0) return 0;
    if (gk_conv1x1_on == 2) return 1;
    /* K >= 128, M <= 128, planes of 28x28 or more, C at most 1 MiB: ResNet-50's 256 -> 64 at
     * 56x56 and 512 -> 128 at 28x28, 0.74-0.97x the packed path in the model (results/
     * resnet_2t.md, "Session 26 (r50)"). Its 256 -> 128 at 56x56 (C 1.6 MB) took 0.93x in the
     * model while the packed path wrote its whole B past L2 (then cold); packed in runs that stay
     * in L2 (conv.c conv_fill_blocks) it reads 0.98x here and the whole run gains nothing
     * (Session 27 (r50)), so it stays packed.
     * Alone with the input cold the 128 -> 512 and 512 -> 256 at 28x28 took 0.94 and 0.98x,
     * but in the model 1.00-1.05x; at K = 64 (64 -> 256) 1.20x alone (the packed path's thin
     * rule sweeps 24 rows of C at a time); 14x14 planes 1.03-1.10x (the packed narrow path's). */
    return k >= 128 && m <= 128 && n >= 784 && m * n <= 262144;
}

typedef struct {
    gk_conv1x1_args g;
    int pm, pn;
    volatile int failed; /* a block's stage could not be allocated */
} conv1x1_job;

static void conv1x1_part(void *ctx, long t, int seat) {
    conv1x1_job *j = (conv1x1_job *)ctx;
    long r[4];
    (void)seat;
    gk_gemm_grid_part(j->g.m, j->g.n, gk_k.conv1x1->col_unit, j->pm, j->pn, (int)t, r);
    if (r[0] < r[1] && r[2] < r[3] && !gk_k.conv1x1->block(&j->g, r[0], r[1], r[2], r[3]))
        j->failed = 1;
}

int gk_conv1x1(long m, long n, long k, const float *ap, const float *x, float *c,
               const gk_epilogue *ep, int threads) {
    if (!gk_conv1x1_takes(m, n, k)) return 0;
    long kc, mc;
    gk_gemm_blocking(&kc, &mc);
    kc = gk_gemm_kc(k); /* the packed GEMM's K blocks: the same sums, the same bits */
    conv1x1_job j = {{m, n, k, ap, x, c, ep, kc, mc}, 1, 1, 0};
    int nt = gk_gemm_threads(m, n, k, threads);
    if (nt <= 1) return gk_k.conv1x1->block(&j.g, 0, m, 0, n);
    int blocks = gk_gemm_grid(m, n, k, nt, &j.pm, &j.pn);
    gk_parallel(blocks, nt, conv1x1_part, &j);
    return !j.failed; /* else the caller's other path writes all of C again */
}

/* ---- small planes, the output channels in the lanes (gk_conv1x1_cvec) ---------------------- */

#define CVEC_W 64 /* output channels per weight panel (the AVX-512 tile's 4 vectors) */

int gk_conv1x1_cvec_on = 1;
static long g_cvec_ks = 64, g_cvec_flags = GK_CVEC_PF_W | GK_CVEC_PF_X | GK_CVEC_PF_C;

void gk_conv1x1_cvec_tune(long ks, long flags, long *old) {
    old[0] = g_cvec_ks, old[1] = g_cvec_flags;
    if (ks > 0) g_cvec_ks = ks;
    if (flags >= 0) g_cvec_flags = flags;
}

long gk_conv1x1_cvec_max_n = 256;

int gk_conv1x1_cvec_takes(long m, long n, long k) {
    if (!gk_conv1x1_cvec_on || !gk_k.conv1x1->cvec || m <= 0 || n <= 0 || k <= 0) return 0;
    if (gk_conv1x1_cvec_on == 2) return 1;
    return n <= gk_conv1x1_cvec_max_n;
}

size_t gk_conv1x1_cvec_size(long m, long k) {
    return (size_t)((m + 15) / 16 * 16) * (size_t)(k > 0 ? k : 0);
}

void gk_conv1x1_cvec_pack(const float *w, long m, long k, float *out) {
    for (long o = 0; o < m; o += CVEC_W) {
        long rows = GK_MIN((long)CVEC_W, m - o), ldw = (rows + 15) / 16 * 16;
        float *p = out + o * k;
        for (long kk = 0; kk < k; kk++)
            for (long r = 0; r < ldw; r++) p[kk * ldw + r] = r < rows ? w[(o + r) * k + kk] : 0.0f;
    }
}

typedef struct {
    gk_conv1x1_cvec_args g;
    long panels, pm, pn; /* the grid: pm panel ranges x pn pixel ranges */
    volatile int failed;
} cvec_job;

/* block t of the grid: a range of whole panels, a range of pixels (multiples of the tile's 6) */
static void cvec_part(void *ctx, long t, int seat) {
    cvec_job *j = (cvec_job *)ctx;
    long tm = t / j->pn, tn = t % j->pn, tiles = (j->g.n + 5) / 6;
    long q0 = j->panels * tm / j->pm, q1 = j->panels * (tm + 1) / j->pm;
    long p0 = GK_MIN(j->g.n, tiles * tn / j->pn * 6), p1 = GK_MIN(j->g.n, tiles * (tn + 1) / j->pn * 6);
    (void)seat;
    if (q0 < q1 && p0 < p1 && !gk_k.conv1x1->cvec(&j->g, q0, q1, p0, p1)) j->failed = 1;
}

int gk_conv1x1_cvec(long m, long n, long k, const float *wp, const float *x, float *c,
                    const float *bias, const float *residual, float lo, float hi, int clip,
                    int threads) {
    if (!gk_k.conv1x1->cvec) return 0;
    if (m <= 0 || n <= 0) return 1;
    cvec_job j = {{m, n, k, gk_gemm_kc(k), g_cvec_ks, g_cvec_flags, wp, x, c, bias, residual, lo,
                   hi, clip},
                  (m + CVEC_W - 1) / CVEC_W, 1, 1, 0};
    int nt = gk_gemm_threads(m, n, k, threads);
    if (nt > 1) {
        /* each thread its own panels (it streams only their weights) where they share out
         * evenly or are many; else every thread all panels over its own pixels */
        if (!(g_cvec_flags & GK_CVEC_SPLIT_P) && (j.panels % nt == 0 || j.panels >= 4L * nt))
            j.pm = nt;
        else
            j.pn = GK_MIN((long)nt, (n + 5) / 6);
    }
    if (j.pm * j.pn <= 1) return gk_k.conv1x1->cvec(&j.g, 0, j.panels, 0, n);
    gk_parallel(j.pm * j.pn, (int)(j.pm * j.pn), cvec_part, &j);
    return !j.failed;
}
