/* The int8 GEMM's driver (see qgemm.h): packing into zero-point-shifted int16 pairs, the split of C
 * between threads, the cache blocking. The tile and epilogue kernels of each level are in
 * qgemm_kernels.inc.
 *
 * C is cut into tasks of QNB B panels x QMB A panels (QMB chosen so the A block stays in L2); a
 * task runs each B panel against the A panels of its block, one GK_QMR x GK_QNR tile at a time,
 * and requantises the tile straight into C. Tasks are shared statically by the OpenMP team. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "qgemm.h"

#define QNB 4             /* B panels per task */
#define QA_BLOCK (192 << 10) /* bytes of A per task (L2) */
#define QPAR_MIN (1L << 18)  /* multiply-adds below which one thread runs the product */

int gk_cpu_has_vnni(void) {
#if GK_X86
    __builtin_cpu_init();
    return gk_cpu_has_avx512f() && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

static long pairs(long k) { return (k + 1) / 2; }

size_t gk_qpacked_a_size(long m, long k) {
    return (size_t)((m + GK_QMR - 1) / GK_QMR) * GK_QMR * 2 * (size_t)(pairs(k) > 0 ? pairs(k) : 1);
}

size_t gk_qpacked_b_size(long k, long n) {
    return (size_t)((n + GK_QNR - 1) / GK_QNR) * GK_QNR * 2 * (size_t)(pairs(k) > 0 ? pairs(k) : 1);
}

static inline int32_t load_q(const void *p, int type, long i) {
    return type == GK_Q_U8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

/* one panel of `width` lines (rows of A / columns of B) of the operand: element (line l, k) at
 * src[l * s_l + k * s_k], minus z[l * z_s]; lines past `lines` and k past K are 0 */
static void pack_panel(long lines, long width, long k, const void *src, int type, long s_l,
                       long s_k, const int32_t *z, long z_s, int16_t *dst) {
    long k2 = pairs(k);
    memset(dst, 0, (size_t)(k2 * 2 * width) * sizeof(int16_t));
    for (long l = 0; l < lines; l++) {
        int32_t zl = z ? z[l * z_s] : 0;
        int16_t *d = dst + 2 * l;
        for (long kk = 0; kk < k; kk++)
            d[(kk >> 1) * 2 * width + (kk & 1)] = (int16_t)(load_q(src, type, l * s_l + kk * s_k) - zl);
    }
}

void gk_qpack_a(long m, long k, const void *a, int type, long s_m, long s_k, const int32_t *za,
                long za_s, int16_t *out, int threads) {
    long panels = (m + GK_QMR - 1) / GK_QMR, k2 = pairs(k);
    const char *base = (const char *)a;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > 8192)
    for (long p = 0; p < panels; p++)
        pack_panel(GK_MIN(GK_QMR, m - p * GK_QMR), GK_QMR, k, base + p * GK_QMR * s_m, type, s_m,
                   s_k, za ? za + p * GK_QMR * za_s : NULL, za_s, out + p * k2 * 2 * GK_QMR);
}

void gk_qpack_b(long k, long n, const void *b, int type, long s_k, long s_n, const int32_t *zb,
                long zb_s, int16_t *out, int threads) {
    long panels = (n + GK_QNR - 1) / GK_QNR, k2 = pairs(k);
    const char *base = (const char *)b;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > 8192)
    for (long p = 0; p < panels; p++)
        pack_panel(GK_MIN(GK_QNR, n - p * GK_QNR), GK_QNR, k, base + p * GK_QNR * s_n, type, s_n,
                   s_k, zb ? zb + p * GK_QNR * zb_s : NULL, zb_s, out + p * k2 * 2 * GK_QNR);
}

static size_t out_size(int type) { return type >= GK_Q_I32 ? 4 : 1; }

void gk_qgemm_packed_at(long m, long n, long k, const int16_t *ap, const int16_t *bp, void *c,
                        long ldc, const gk_qepilogue *ep, long i0, long j0, int threads) {
    if (m <= 0 || n <= 0) return;
    long k2 = pairs(k), mp = (m + GK_QMR - 1) / GK_QMR, np = (n + GK_QNR - 1) / GK_QNR;
    long a_panel = k2 * 4 * GK_QMR; /* bytes */
    long qmb = GK_MAX(1, QA_BLOCK / GK_MAX(a_panel, 1));
    long tm = (mp + qmb - 1) / qmb, tn = (np + QNB - 1) / QNB;
    int nt = (double)m * n * k < QPAR_MIN ? 1 : threads;
    const gk_qgemm_kernels *kt = gk_k.qgemm;
    void (*tile)(long, const int16_t *, const int16_t *, int32_t *) =
        kt->tile_vnni && gk_cpu_has_vnni() ? kt->tile_vnni : kt->tile;
    size_t es = out_size(ep->out_type);
    char *cb = (char *)c;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) collapse(2)
    for (long tj = 0; tj < tn; tj++)
        for (long ti = 0; ti < tm; ti++) {
            int32_t acc[GK_QMR * GK_QNR];
            for (long pj = tj * QNB; pj < GK_MIN(np, (tj + 1) * QNB); pj++)
                for (long pi = ti * qmb; pi < GK_MIN(mp, (ti + 1) * qmb); pi++) {
                    long i = pi * GK_QMR, j = pj * GK_QNR;
                    tile(k2, ap + pi * k2 * 2 * GK_QMR, bp + pj * k2 * 2 * GK_QNR, acc);
                    kt->epilogue(acc, GK_QNR, GK_MIN(GK_QMR, m - i), GK_MIN(GK_QNR, n - j), ep,
                                 i0 + i, j0 + j, cb + ((size_t)i * ldc + j) * es, ldc);
                }
        }
}

void gk_qgemm_packed(long m, long n, long k, const int16_t *ap, const int16_t *bp, void *c,
                     long ldc, const gk_qepilogue *ep, int threads) {
    gk_qgemm_packed_at(m, n, k, ap, bp, c, ldc, ep, 0, 0, threads);
}
