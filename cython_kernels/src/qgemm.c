/* The int8 GEMM's driver (see qgemm.h): packing into zero-point-shifted int16 pairs, the split of C
 * between threads, the cache blocking. The tile and epilogue kernels of each level are in
 * qgemm_kernels.inc.
 *
 * C is cut into tasks of QNB B panels x QMB A panels (QMB chosen so the A block stays in L2); a
 * task runs each B panel against the A panels of its block, one GK_QMR x GK_QNR tile at a time,
 * and requantises the tile straight into C. Tasks are shared by the pool's threads
 * (threadpool.h). */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "qgemm.h"
#include "threadpool.h"

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

typedef struct {
    long lines, k, s_l, s_k, z_s;
    const char *base;
    int type, width;
    const int32_t *z;
    int16_t *out;
} qpack_job;

/* panels [p0, p1) of `width` lines */
static void qpack_panels(void *ctx, long p0, long p1, int seat) {
    const qpack_job *j = (const qpack_job *)ctx;
    long k2 = pairs(j->k), w = j->width;
    (void)seat;
    for (long p = p0; p < p1; p++)
        pack_panel(GK_MIN(w, j->lines - p * w), w, j->k, j->base + p * w * j->s_l, j->type, j->s_l,
                   j->s_k, j->z ? j->z + p * w * j->z_s : NULL, j->z_s, j->out + p * k2 * 2 * w);
}

/* panels [p0, p1) of A with contiguous rows (the level's vectorised panel kernel) */
static void qpack_a_rows(void *ctx, long p0, long p1, int seat) {
    const qpack_job *j = (const qpack_job *)ctx;
    long k2 = pairs(j->k);
    (void)seat;
    for (long p = p0; p < p1; p++)
        gk_k.qgemm->pack_a_panel((const uint8_t *)j->base + p * GK_QMR * j->s_l,
                                 GK_MIN(GK_QMR, j->lines - p * GK_QMR), j->s_l, j->k, j->type,
                                 j->z ? j->z + p * GK_QMR * j->z_s : NULL, j->z_s,
                                 j->out + p * k2 * 2 * GK_QMR);
}

void gk_qpack_a(long m, long k, const void *a, int type, long s_m, long s_k, const int32_t *za,
                long za_s, int16_t *out, int threads) {
    long panels = (m + GK_QMR - 1) / GK_QMR;
    qpack_job j = {m, k, s_m, s_k, za_s, (const char *)a, type, GK_QMR, za, out};
    gk_parallel_range(panels, panels * k > 32768 ? threads : 1,
                      s_k == 1 && k > 0 ? qpack_a_rows : qpack_panels, &j);
}

typedef struct {
    long m, k, ldx;
    const float *x;
    float scale;
    int32_t zp;
    int16_t *out;
} qpack_quant_job;

/* panels [p0, p1): GK_QMR rows quantised to bytes (a stack buffer per 1024 columns), packed */
static void qpack_quant_panels(void *ctx, long p0, long p1, int seat) {
    const qpack_quant_job *j = (const qpack_quant_job *)ctx;
    long k2 = pairs(j->k);
    uint8_t rows[GK_QMR][1024];
    (void)seat;
    for (long p = p0; p < p1; p++) {
        long lines = GK_MIN(GK_QMR, j->m - p * GK_QMR);
        int16_t *dst = j->out + p * k2 * 2 * GK_QMR;
        for (long c0 = 0; c0 < j->k; c0 += 1024) { /* 512 pairs per chunk: c0 is even */
            long w = GK_MIN(1024, j->k - c0);
            for (long l = 0; l < lines; l++)
                gk_k.qelementwise->quantize(w, j->x + (p * GK_QMR + l) * j->ldx + c0, j->scale,
                                            (float)j->zp, GK_Q_U8, rows[l]);
            gk_k.qgemm->pack_a_panel(&rows[0][0], lines, 1024, w, GK_Q_U8, &j->zp, 0,
                                     dst + c0 * GK_QMR);
        }
    }
}

void gk_qpack_a_quantize(long m, long k, const float *x, long ldx, float scale, int32_t zp,
                         int16_t *out, int threads) {
    long panels = (m + GK_QMR - 1) / GK_QMR;
    qpack_quant_job j = {m, k, ldx, x, scale, zp, out};
    if (m <= 0 || k <= 0) return;
    gk_parallel_range(panels, panels * k > 32768 ? threads : 1, qpack_quant_panels, &j);
}

/* whether zero point z is a value of the 8-bit type (so a byte row of it packs as 0) */
static int in_type(int32_t z, int type) {
    return type == GK_Q_U8 ? z >= 0 && z <= 255 : z >= -128 && z <= 127;
}

typedef struct {
    long k, n, s_k;
    const uint8_t *b, *zrow; /* zrow: n bytes of the zero point (the odd K's missing row) */
    int type;
    int32_t z;
    int16_t *out;
} qpack_rows_job;

/* pairs [p0, p1) of B with contiguous rows */
static void qpack_b_rows(void *ctx, long p0, long p1, int seat) {
    const qpack_rows_job *j = (const qpack_rows_job *)ctx;
    long k2 = pairs(j->k);
    (void)seat;
    for (long p = p0; p < p1; p++) {
        const uint8_t *r0 = j->b + 2 * p * j->s_k;
        const uint8_t *r1 = 2 * p + 1 < j->k ? r0 + j->s_k : j->zrow;
        gk_k.qgemm->pack_b_pair(r0, r1, j->n, j->type, j->z, p, k2, j->out);
    }
}

void gk_qpack_b(long k, long n, const void *b, int type, long s_k, long s_n, const int32_t *zb,
                long zb_s, int16_t *out, int threads) {
    long panels = (n + GK_QNR - 1) / GK_QNR;
    int32_t z = zb ? zb[0] : 0;
    uint8_t *zrow = NULL;
    if (s_n == 1 && k > 0 && (!zb || zb_s == 0) && in_type(z, type) &&
        (zrow = (uint8_t *)malloc((size_t)n + 1)) != NULL) {
        memset(zrow, (uint8_t)z, (size_t)n + 1);
        qpack_rows_job r = {k, n, s_k, (const uint8_t *)b, zrow, type, z, out};
        gk_parallel_range(pairs(k), panels * k > 32768 ? threads : 1, qpack_b_rows, &r);
        free(zrow);
        return;
    }
    qpack_job j = {n, k, s_n, s_k, zb_s, (const char *)b, type, GK_QNR, zb, out};
    gk_parallel_range(panels, panels * k > 8192 ? threads : 1, qpack_panels, &j);
}

static size_t out_size(int type) { return type >= GK_Q_I32 ? 4 : 1; }

typedef struct {
    long m, n, k2, mp, np, qmb, tm, tn, i0, j0, ldc;
    const int16_t *ap, *bp;
    size_t as, bs, cs; /* batch strides (int16s of A / B, elements of C) */
    const gk_qepilogue *ep;
    void (*tile)(long, const int16_t *, const int16_t *, int32_t *);
    char *cb;
    size_t es;
    int fused; /* full tiles through kt->tile_q8 */
    int vnni;  /* tile is the VNNI one (edge rows too: no tile_rows at that width) */
} qgemm_job;

/* tasks [t0, t1): task t = (product t / (tn tm), B block (t / tm) % tn, A block t % tm) */
static void qgemm_tasks(void *ctx, long t0, long t1, int seat) {
    const qgemm_job *q = (const qgemm_job *)ctx;
    const gk_qgemm_kernels *kt = gk_k.qgemm;
    long k2 = q->k2, m = q->m, n = q->n;
    (void)seat;
    for (long t = t0; t < t1; t++) {
        long b = t / (q->tn * q->tm), tj = (t / q->tm) % q->tn, ti = t % q->tm;
        const int16_t *ap = q->ap + b * q->as, *bp = q->bp + b * q->bs;
        char *cb = q->cb + b * q->cs * q->es;
        int32_t acc[GK_QMR * GK_QNR];
        for (long pj = tj * QNB; pj < GK_MIN(q->np, (tj + 1) * QNB); pj++)
            for (long pi = ti * q->qmb; pi < GK_MIN(q->mp, (ti + 1) * q->qmb); pi++) {
                long i = pi * GK_QMR, j = pj * GK_QNR;
                if (q->fused && i + GK_QMR <= m && j + GK_QNR <= n) {
                    kt->tile_q8(k2, ap + pi * k2 * 2 * GK_QMR, bp + pj * k2 * 2 * GK_QNR, q->ep,
                                q->i0 + i, q->j0 + j,
                                (uint8_t *)cb + (size_t)i * q->ldc + j, q->ldc);
                    continue;
                }
                long rows = GK_MIN(GK_QMR, m - i);
                void (*tile)(long, const int16_t *, const int16_t *, int32_t *) =
                    rows < GK_QMR && !q->vnni && kt->tile_rows[rows] ? kt->tile_rows[rows]
                                                                      : q->tile;
                tile(k2, ap + pi * k2 * 2 * GK_QMR, bp + pj * k2 * 2 * GK_QNR, acc);
                kt->epilogue(acc, GK_QNR, GK_MIN(GK_QMR, m - i), GK_MIN(GK_QNR, n - j), q->ep,
                             q->i0 + i, q->j0 + j, cb + ((size_t)i * q->ldc + j) * q->es,
                             q->ldc);
            }
    }
}

void gk_qgemm_packed_batch(long count, long m, long n, long k, const int16_t *ap, size_t as,
                           const int16_t *bp, size_t bs, void *c, size_t cs, long ldc,
                           const gk_qepilogue *ep, long i0, long j0, int threads) {
    if (m <= 0 || n <= 0 || count <= 0) return;
    long k2 = pairs(k), mp = (m + GK_QMR - 1) / GK_QMR, np = (n + GK_QNR - 1) / GK_QNR;
    long a_panel = k2 * 4 * GK_QMR; /* bytes */
    long qmb = GK_MAX(1, QA_BLOCK / GK_MAX(a_panel, 1));
    long tm = (mp + qmb - 1) / qmb, tn = (np + QNB - 1) / QNB;
    int nt = (double)count * m * n * k < QPAR_MIN ? 1 : threads;
    const gk_qgemm_kernels *kt = gk_k.qgemm;
    int vnni = kt->tile_vnni && gk_cpu_has_vnni();
    int fused = kt->tile_q8 && !vnni && (ep->out_type == GK_Q_U8 || ep->out_type == GK_Q_S8) &&
                !ep->fx_mult && ep->mult_cs <= 1 && ep->bias_cs <= 1;
    qgemm_job q = {m, n, k2, mp, np, qmb, tm, tn, i0, j0, ldc, ap, bp, as, bs, cs, ep,
                   vnni ? kt->tile_vnni : kt->tile, (char *)c, out_size(ep->out_type), fused,
                   vnni};
    gk_parallel_range(count * tn * tm, nt, qgemm_tasks, &q);
}

void gk_qgemm_packed_at(long m, long n, long k, const int16_t *ap, const int16_t *bp, void *c,
                        long ldc, const gk_qepilogue *ep, long i0, long j0, int threads) {
    gk_qgemm_packed_batch(1, m, n, k, ap, 0, bp, 0, c, 0, ldc, ep, i0, j0, threads);
}

void gk_qgemm_packed(long m, long n, long k, const int16_t *ap, const int16_t *bp, void *c,
                     long ldc, const gk_qepilogue *ep, int threads) {
    gk_qgemm_packed_at(m, n, k, ap, bp, c, ldc, ep, 0, 0, threads);
}
