/* Driver of the GEMM with an unpacked B (see gemm_direct.h): the split of C between threads
 * is gemm.c's (same thread count and grid), each block run by the level's kernel. */
#include "gemm_direct.h"

#include "dispatch.h"
#include "isa.h"
#include "threadpool.h"

typedef struct {
    gk_gemmd_args g;
    int blocks, pm, pn;
} gemmd_job;

static void gemmd_part(void *ctx, long t, int seat) {
    const gemmd_job *j = (const gemmd_job *)ctx;
    long r[4];
    (void)seat;
    gk_gemm_grid_part(j->g.m, j->g.n, gk_k.gemm_direct->col_unit, j->pm, j->pn, (int)t, r);
    if (r[0] < r[1] && r[2] < r[3]) gk_k.gemm_direct->block(&j->g, r[0], r[1], r[2], r[3]);
}

int gk_gemm_direct(long m, long n, long k, const float *ap, const float *b, const long *roff,
                   float *c, long ldc, const gk_epilogue *ep, int threads) {
    if (!gk_k.gemm_direct->block) return 0;
    if (m <= 0 || n <= 0) return 1;
    long kc, mc;
    gk_gemm_blocking(&kc, &mc);
    kc = gk_gemm_kc(k); /* the packed GEMM's K blocks: the same sums, the same bits */
    gemmd_job j = {{m, n, k, ap, b, roff, c, ldc, ep, kc, mc}, 1, 1, 1};
    int nt = gk_gemm_threads(m, n, k, threads);
    if (nt <= 1) {
        gk_k.gemm_direct->block(&j.g, 0, m, 0, n);
        return 1;
    }
    j.blocks = gk_gemm_grid(m, n, k, nt, &j.pm, &j.pn);
    gk_parallel(j.blocks, nt, gemmd_part, &j);
    return 1;
}
