/* Driver of the GEMM with int8 weights (see gemm_i8w.h): A packed as gk_gemm packs it, C split
 * between the threads by gemm.c's rule (same thread count and grid), and each block's columns
 * widened a register block at a time and multiplied by the level's packed-GEMM block kernel. */
#include "gemm_i8w.h"

#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "threadpool.h"

static __thread gk_tls_buffer tl_a, tl_b; /* packed A (the calling thread's), widened B */

size_t gk_packed_b_i8w_size(long k, long n) {
    return (size_t)((n + GK_NR - 1) / GK_NR) * (size_t)GK_I8W_PANEL(k > 0 ? k : 1);
}

void gk_pack_b_i8w(long k, long n, const signed char *q, long s_k, long s_n, const float *scale,
                   signed char *out) {
    for (long p = 0; p < (n + GK_NR - 1) / GK_NR; p++) {
        signed char *dst = out + p * GK_I8W_PANEL(k);
        long j0 = p * GK_NR, cols = GK_MIN((long)GK_NR, n - j0);
        float s[GK_NR] = {0};
        for (long j = 0; j < cols; j++) s[j] = scale[j0 + j];
        memcpy(dst, s, sizeof s);
        signed char *codes = dst + sizeof s;
        for (long kk = 0; kk < k; kk++)
            for (long j = 0; j < GK_NR; j++)
                codes[kk * GK_NR + j] = j < cols ? q[kk * s_k + (j0 + j) * s_n] : 0;
    }
}

typedef struct {
    gk_gemm_args g; /* g.bp unused: each register block points it at its widened columns */
    const signed char *qb;
    int pm, pn;
} i8w_job;

/* C[m0:m1, n0:n1] (n0 a multiple of the level's column unit), per M block of the cache blocking
 * (A's block stays in L2 across the columns, as in the packed GEMM; a product of few rows has
 * one) and one register block of columns at a time: its panels widened into this thread's
 * buffer (K x 32 floats at AVX-512: 48 KiB at K 384, written to and read back from L1 / L2;
 * widening 2 or 4 blocks at a time measured 1-4 % slower, prefetching the next block's codes
 * meanwhile into L1 or L2 5 % slower, widening the thread's whole share of B first and running
 * gk_gemm_fill_b 1.04-1.24x the time at 16-512 rows), then the block kernel over it, C and the
 * epilogue's column vectors shifted to the block (its rows stay as they are) */
static void i8w_block(const i8w_job *j, long m0, long m1, long n0, long n1) {
    long k = j->g.k, cu = gk_k.gemm->col_unit;
    float *buf = (float *)gk_tls_grow(&tl_b, (size_t)(cu * (k > 0 ? k : 1)) * sizeof(float));
    if (!buf) return;
    for (long mb = m0; mb < m1; mb += j->g.mc) {
        long mb1 = GK_MIN(m1, mb + j->g.mc);
        for (long j0 = n0; j0 < n1; j0 += cu) {
            long w = GK_MIN(cu, n1 - j0);
            for (long p = 0; p < (w + GK_NR - 1) / GK_NR; p++)
                gk_k.gemm_i8w->widen(j->qb + (j0 / GK_NR + p) * GK_I8W_PANEL(k), k,
                                     buf + p * k * GK_NR);
            gk_epilogue e = *j->g.ep;
            if (e.bias_col) e.bias_col += j0;
            if (e.slope_col) e.slope_col += j0;
            if (e.residual) e.residual += j0;
            gk_gemm_args s = j->g;
            s.bp = buf;
            s.c = j->g.c + j0;
            s.ep = &e;
            gk_k.gemm->block(&s, mb, mb1, 0, w);
        }
    }
}

static void i8w_part(void *ctx, long t, int seat) {
    const i8w_job *j = (const i8w_job *)ctx;
    long r[4];
    (void)seat;
    gk_gemm_grid_part(j->g.m, j->g.n, gk_k.gemm->col_unit, j->pm, j->pn, (int)t, r);
    if (r[0] < r[1] && r[2] < r[3]) i8w_block(j, r[0], r[1], r[2], r[3]);
}

void gk_gemm_i8w(long m, long n, long k, const float *a, long s_m, long s_k,
                 const signed char *qb, float *c, long ldc, const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    float *ap = (float *)gk_tls_grow(&tl_a, gk_packed_a_size(m, k) * sizeof(float));
    if (!ap) return;
    long kc, mc;
    gk_gemm_blocking(&kc, &mc);
    int nt = gk_gemm_threads(m, n, k, threads);
    gk_pack_a(m, k, a, s_m, s_k, ap, nt);
    /* a_hot: A was packed by this call, B holds the weights (gk_gemm's setting) */
    i8w_job j = {{m, n, k, ap, NULL, c, ldc, ep, gk_gemm_kc(k), mc, 1}, qb, 1, 1};
    if (nt <= 1) {
        i8w_block(&j, 0, m, 0, n);
        return;
    }
    int blocks = gk_gemm_grid(m, n, k, nt, &j.pm, &j.pn);
    gk_parallel(blocks, nt, i8w_part, &j);
}
