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

#include "amx.h"
#include "dispatch.h"
#include "isa.h"
#include "qgemm.h"
#include "qconv_split.h"
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
    /* quantising costs several times a copy: split from a few panels on */
    gk_parallel_range(panels, panels * k > 2048 ? threads : 1, qpack_quant_panels, &j);
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

/* ---- the 8-bit GEMM (qgemm.h: gk_q8_*) ------------------------------------------------------ */

#define Q8_PANEL_BYTES(kp) ((size_t)GK_Q8_PANEL * (size_t)(kp))
#define Q8_A_BLOCK (256 << 10) /* bytes of packed A per task (L2) */

long gk_q8_kpad(long k) {
    if (k <= 16) return 16;
    if (k <= 32) return 32;
    return (k + GK_Q8_KB - 1) / GK_Q8_KB * GK_Q8_KB;
}

/* bytes of a packed A row per block: Kp itself where it is 16 or 32, else 64 (qgemm.h) */
static inline long q8_bw(long kp) { return kp < GK_Q8_KB ? kp : GK_Q8_KB; }

size_t gk_q8_packed_size(long lines, long k) {
    long panels = lines > 0 ? (lines + GK_Q8_PANEL - 1) / GK_Q8_PANEL : 1;
    return (size_t)panels * Q8_PANEL_BYTES(gk_q8_kpad(k));
}

/* the stored byte's value: (v ^ sx) - so is v as u8 (sx = so = 0) or as s8 (0x80, 128) */
#define Q8_SX(to) ((to) == GK_Q_U8 ? 0 : 0x80)
#define Q8_SO(to) ((to) == GK_Q_U8 ? 0 : 128)

typedef struct {
    long lines, k, s_l, s_k, kp;
    const uint8_t *src;
    uint8_t flip;
    int to;
    int32_t *sums;
    uint8_t *out;
    const float *x; /* gk_q8_pack_a_quantize: rows of floats (ldx = s_l), scale, zp */
    float scale;
    int32_t zp;
} q8pack_job;

/* one line of `k` source bytes (stride s_k) into a packed A panel's row (d: the row's first
 * byte; block b at d + b * 16 bw, bw the block's row bytes); returns the stored values' sum where want_sum (else 0): a
 * contiguous line is copied block by block (memcpy, or an XOR loop GCC vectorises) and summed in a
 * second loop over the stored bytes, only where asked */
static int32_t q8_row_a(const uint8_t *s, long s_k, long k, uint8_t flip, int to, uint8_t *d,
                        long bw, int want_sum) {
    int32_t sum = 0;
    uint8_t sx = Q8_SX(to);
    int32_t so = Q8_SO(to);
    for (long k0 = 0; k0 < k; k0 += bw) {
        long w = GK_MIN(bw, k - k0);
        uint8_t *o = d + (k0 / bw) * bw * GK_Q8_PANEL;
        if (s_k == 1 && !flip)
            memcpy(o, s + k0, (size_t)w);
        else if (s_k == 1)
            for (long t = 0; t < w; t++) o[t] = (uint8_t)(s[k0 + t] ^ flip);
        else
            for (long t = 0; t < w; t++) o[t] = (uint8_t)(s[(k0 + t) * s_k] ^ flip);
        if (want_sum) {
            int32_t part = 0;
            for (long t = 0; t < w; t++) part += (int32_t)(uint8_t)(o[t] ^ sx) - so;
            sum += part;
        }
    }
    return sum;
}

/* a panel's bytes are zeroed first unless every byte is written (16 rows, K = Kp) */
static void q8_panel_clear(uint8_t *dst, long rows, long k, long kp) {
    if (rows < GK_Q8_PANEL || k != kp) memset(dst, 0, Q8_PANEL_BYTES(kp));
}

static void q8_pack_a_panels(void *ctx, long p0, long p1, int seat) {
    const q8pack_job *j = (const q8pack_job *)ctx;
    (void)seat;
    for (long p = p0; p < p1; p++) {
        uint8_t *dst = j->out + p * Q8_PANEL_BYTES(j->kp);
        long rows = GK_MIN(GK_Q8_PANEL, j->lines - p * GK_Q8_PANEL);
        q8_panel_clear(dst, rows, j->k, j->kp);
        for (long r = 0; r < rows; r++) {
            long i = p * GK_Q8_PANEL + r;
            int32_t s = q8_row_a(j->src + i * j->s_l, j->s_k, j->k, j->flip, j->to,
                                 dst + r * q8_bw(j->kp), q8_bw(j->kp), j->sums != NULL);
            if (j->sums) j->sums[i] = s;
        }
    }
}

static uint8_t q8_flip(int type, int to) { return type == to ? 0 : 0x80; }

void gk_q8_pack_a(long m, long k, const void *a, int type, long s_m, long s_k, int to,
                  int32_t *sums, uint8_t *out, int threads) {
    long panels = (m + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
    q8pack_job j = {m, k, s_m, s_k, gk_q8_kpad(k), (const uint8_t *)a, q8_flip(type, to), to,
                    sums, out, NULL, 0.0f, 0};
    if (m <= 0) return;
    gk_parallel_range(panels, panels * k > 32768 ? threads : 1, q8_pack_a_panels, &j);
}

/* panels of rows quantised (u8, 1024 columns at a time through a stack buffer), then stored */
static void q8_pack_quant_panels(void *ctx, long p0, long p1, int seat) {
    const q8pack_job *j = (const q8pack_job *)ctx;
    uint8_t row[1024];
    (void)seat;
    for (long p = p0; p < p1; p++) {
        uint8_t *dst = j->out + p * Q8_PANEL_BYTES(j->kp);
        long rows = GK_MIN(GK_Q8_PANEL, j->lines - p * GK_Q8_PANEL);
        q8_panel_clear(dst, rows, j->k, j->kp);
        for (long r = 0; r < rows; r++) {
            long i = p * GK_Q8_PANEL + r;
            int32_t s = 0;
            long bw = q8_bw(j->kp);
            for (long c0 = 0; c0 < j->k; c0 += 1024) { /* 1024: a multiple of bw */
                long w = GK_MIN(1024, j->k - c0);
                gk_k.qelementwise->quantize(w, j->x + i * j->s_l + c0, j->scale, (float)j->zp,
                                            GK_Q_U8, row);
                s += q8_row_a(row, 1, w, j->flip, j->to,
                              dst + r * bw + (c0 / bw) * bw * GK_Q8_PANEL, bw, j->sums != NULL);
            }
            if (j->sums) j->sums[i] = s;
        }
    }
}

void gk_q8_pack_a_quantize(long m, long k, const float *x, long ldx, float scale, int32_t zp,
                           int to, int32_t *sums, uint8_t *out, int threads) {
    long panels = (m + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
    q8pack_job j = {m, k, ldx, 1, gk_q8_kpad(k), NULL, q8_flip(GK_Q_U8, to), to, sums, out, x,
                    scale, zp};
    if (m <= 0 || k <= 0) return;
    gk_parallel_range(panels, panels * k > 2048 ? threads : 1, q8_pack_quant_panels, &j);
}

static void q8_pack_b_panels(void *ctx, long p0, long p1, int seat) {
    const q8pack_job *j = (const q8pack_job *)ctx;
    uint8_t sx = Q8_SX(j->to);
    int32_t so = Q8_SO(j->to);
    (void)seat;
    for (long p = p0; p < p1; p++) {
        uint8_t *dst = j->out + p * Q8_PANEL_BYTES(j->kp);
        memset(dst, 0, Q8_PANEL_BYTES(j->kp));
        for (long c = 0; c < GK_MIN(GK_Q8_PANEL, j->lines - p * GK_Q8_PANEL); c++) {
            long col = p * GK_Q8_PANEL + c;
            int32_t sum = 0;
            for (long kk = 0; kk < j->k; kk++) {
                uint8_t v = (uint8_t)(j->src[kk * j->s_k + col * j->s_l] ^ j->flip);
                dst[(kk >> 2) * 64 + c * 4 + (kk & 3)] = v;
                sum += (int32_t)(uint8_t)(v ^ sx) - so;
            }
            if (j->sums) j->sums[col] = sum;
        }
    }
}

void gk_q8_pack_b(long k, long n, const void *b, int type, long s_k, long s_n, int to,
                  int32_t *sums, uint8_t *out, int threads) {
    long panels = (n + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
    q8pack_job j = {n, k, s_n, s_k, gk_q8_kpad(k), (const uint8_t *)b, q8_flip(type, to), to,
                    sums, out, NULL, 0.0f, 0};
    if (n <= 0) return;
    gk_parallel_range(panels, panels * k > 8192 ? threads : 1, q8_pack_b_panels, &j);
}

static int g_q8_limit = 2;

int gk_q8_core(void) {
    const gk_qgemm_kernels *kt = gk_k.qgemm;
    int lim = __atomic_load_n(&g_q8_limit, __ATOMIC_RELAXED);
    if (lim >= 2 && kt->q8_amx && gk_amx_int8()) return 2;
    if (lim >= 1 && kt->q8_vnni && gk_cpu_has_vnni()) return 1;
    return 0;
}

int gk_q8_set_core(int limit) {
    __atomic_store_n(&g_q8_limit, limit < 0 ? 2 : limit, __ATOMIC_RELAXED);
    return gk_q8_core();
}

/* the portable block (core 0): as the level kernels, one product at a time, uint32 sums */
static void q8_block_c(long kb, long bw, const uint8_t *a, long a_ps, int ma, const uint8_t *b,
                       long b_ps, int nb, int b_u8, int32_t *acc) {
    for (int pa = 0; pa < ma; pa++)
        for (int r = 0; r < GK_Q8_PANEL; r++)
            for (int pb = 0; pb < nb; pb++)
                for (int c = 0; c < GK_Q8_PANEL; c++) {
                    uint32_t s = 0;
                    for (long kk = 0; kk < kb * bw; kk++) {
                        uint8_t av = a[pa * a_ps + (kk / bw) * 16 * bw + r * bw + kk % bw];
                        uint8_t bv = b[pb * b_ps + (kk >> 2) * 64 + c * 4 + (kk & 3)];
                        int32_t p = b_u8 ? (int32_t)(int8_t)av * (int32_t)bv
                                         : (int32_t)av * (int32_t)(int8_t)bv;
                        s += (uint32_t)p;
                    }
                    acc[(pa * 16 + r) * 32 + pb * 16 + c] = (int32_t)s;
                }
}

typedef void (*q8_block_fn)(long, long, const uint8_t *, long, int, const uint8_t *, long, int,
                            int, int32_t *);

typedef struct {
    long m, n, k, kb, bw, mp, np, qmb, tm, tn, i0, j0, ldc;
    const uint8_t *ap, *bp;
    int b_u8, core;
    const gk_qepilogue *ep;
    const int32_t *rowc, *colc; /* corrections not folded into the bias (NULL: none) */
    const gk_q8_zero *gen;      /* the general correction, element by element (NULL: none) */
    char *cb;
    size_t es;
} q8_job;

static inline int32_t q8_zat(const int32_t *z, long s, long i) { return z ? z[i * s] : 0; }

/* the corrections and the epilogue of the block at (i, j) */
static void q8_finish(const q8_job *q, int32_t *acc, long i, long j) {
    const gk_qgemm_kernels *kt = gk_k.qgemm;
    long rows = GK_MIN(32, q->m - i), cols = GK_MIN(32, q->n - j);
    if (q->rowc)
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
                acc[r * 32 + c] = (int32_t)((uint32_t)acc[r * 32 + c] + (uint32_t)q->rowc[i + r]);
    if (q->colc)
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
                acc[r * 32 + c] = (int32_t)((uint32_t)acc[r * 32 + c] + (uint32_t)q->colc[j + c]);
    if (q->gen) {
        const gk_q8_zero *z = q->gen;
        for (long r = 0; r < rows; r++) {
            uint32_t za = (uint32_t)q8_zat(z->za, z->za_s, i + r);
            uint32_t sa = z->sa ? (uint32_t)z->sa[i + r] : 0;
            for (long c = 0; c < cols; c++) {
                uint32_t zb = (uint32_t)q8_zat(z->zb, z->zb_s, j + c);
                uint32_t sb = z->sb ? (uint32_t)z->sb[j + c] : 0;
                uint32_t corr = (uint32_t)q->k * za * zb - za * sb - zb * sa;
                acc[r * 32 + c] = (int32_t)((uint32_t)acc[r * 32 + c] + corr);
            }
        }
    }
    char *c = q->cb + ((size_t)i * q->ldc + j) * q->es;
    if (q->core > 0 && kt->q8_epilogue &&
        kt->q8_epilogue(acc, rows, cols, q->ep, q->i0 + i, q->j0 + j, c, q->ldc))
        return;
    kt->epilogue(acc, 32, rows, cols, q->ep, q->i0 + i, q->j0 + j, c, q->ldc);
}

/* tasks [t0, t1): B panel pair t / tm against A panels [qmb (t % tm), qmb (t % tm + 1)). Two
 * accumulator blocks alternate: a block's epilogue runs after the next block's products were
 * issued, so the tile unit's work (and its stores) overlap the vector epilogue. */
static void q8_tasks(void *ctx, long t0, long t1, int seat) {
    const q8_job *q = (const q8_job *)ctx;
    const gk_qgemm_kernels *kt = gk_k.qgemm;
    q8_block_fn fn = q->core == 2 ? kt->q8_amx : q->core == 1 ? kt->q8_vnni : q8_block_c;
    size_t pb = Q8_PANEL_BYTES(q->kb * q->bw);
    int32_t acc[2][32 * 32] __attribute__((aligned(64)));
    long pi_prev = -1, pj_prev = -1;
    int cur = 0;
    (void)seat;
    if (q->core == 2) kt->q8_amx_begin(q->bw);
    for (long t = t0; t < t1; t++) {
        long pj = (t / q->tm) * 2, ti = t % q->tm;
        int nb = (int)GK_MIN(2, q->np - pj);
        for (long pi = ti * q->qmb; pi < GK_MIN(q->mp, (ti + 1) * q->qmb); pi += 2) {
            int ma = (int)GK_MIN(2, q->mp - pi);
            fn(q->kb, q->bw, q->ap + pi * pb, (long)pb, ma, q->bp + pj * pb, (long)pb, nb, q->b_u8,
               acc[cur]);
            if (pi_prev >= 0) q8_finish(q, acc[1 - cur], pi_prev * GK_Q8_PANEL, pj_prev * GK_Q8_PANEL);
            pi_prev = pi, pj_prev = pj, cur = 1 - cur;
        }
    }
    if (pi_prev >= 0) q8_finish(q, acc[1 - cur], pi_prev * GK_Q8_PANEL, pj_prev * GK_Q8_PANEL);
    if (q->core == 2) kt->q8_amx_end();
}

/* whether z[l * s] for l < count is all 0 / all one value */
static int q8_all(const int32_t *z, long s, long count, int32_t v) {
    if (!z) return v == 0;
    for (long l = 0; l < (s ? count : 1); l++)
        if (z[l * s] != v) return 0;
    return 1;
}

int gk_q8_gemm_fusable(long m, long n, long k, const gk_q8_zero *z, long j0, int threads) {
    if (gk_qsplit_mode < 2 || threads <= 1 || j0 != 0 || m <= 0 || n <= 0 ||
        (double)m * n * k < QPAR_MIN)
        return 0;
    /* A's zero point 0 (no term reads B's sums) and B's one value (no element-wise term) */
    return q8_all(z->za, z->za_s, m, 0) && q8_all(z->zb, z->zb_s, n, q8_zat(z->zb, z->zb_s, 0));
}

/* a piece of the fused split: B's pairs [t0 / tm, t1 / tm) made by the producer, then their
 * tasks (t0, t1 multiples of tm but the last, tn tm) */
typedef struct {
    q8_job *q;
    gk_range_fn pre;
    void *pre_ctx;
} q8_fused;

static void q8_fused_tasks(void *ctx, long t0, long t1, int seat) {
    const q8_fused *f = (const q8_fused *)ctx;
    long tm = f->q->tm;
    f->pre(f->pre_ctx, t0 / tm, (t1 + tm - 1) / tm, seat);
    q8_tasks(f->q, t0, t1, seat);
}

int gk_q8_gemm(long m, long n, long k, const uint8_t *ap, int ta, const uint8_t *bp, int tb,
               const gk_q8_zero *z, void *c, long ldc, const gk_qepilogue *ep, long i0, long j0,
               int threads) {
    return gk_q8_gemm_pre(m, n, k, ap, ta, bp, tb, z, c, ldc, ep, i0, j0, threads, NULL, NULL);
}

int gk_q8_gemm_pre(long m, long n, long k, const uint8_t *ap, int ta, const uint8_t *bp, int tb,
                   const gk_q8_zero *z, void *c, long ldc, const gk_qepilogue *ep, long i0,
                   long j0, int threads, void (*pre)(void *, long, long, int), void *pre_ctx) {
    if ((ta != GK_Q_U8 && ta != GK_Q_S8) || (tb != GK_Q_U8 && tb != GK_Q_S8) || ta == tb)
        return 0;
    if (m <= 0 || n <= 0) return 1;
    int32_t za = q8_zat(z->za, z->za_s, 0), zb = q8_zat(z->zb, z->zb_s, 0);
    int za_one = q8_all(z->za, z->za_s, m, za), zb_one = q8_all(z->zb, z->zb_s, n, zb);
    int za_any = !(za_one && za == 0), zb_any = !(zb_one && zb == 0);
    if ((za_any && !z->sb) || (zb_any && !z->sa)) return 0;
    long kp = gk_q8_kpad(k), mp = (m + 15) / 16, np = (n + 15) / 16;
    long qmb = GK_MAX(2, (long)(Q8_A_BLOCK / Q8_PANEL_BYTES(kp)) & ~1L);
    q8_job q = {m, n, k, kp / q8_bw(kp), q8_bw(kp), mp, np, qmb, (mp + qmb - 1) / qmb, (np + 1) / 2, i0, j0,
                ldc, ap, bp, tb == GK_Q_U8, gk_q8_core(), ep, NULL, NULL, NULL, (char *)c,
                out_size(ep->out_type)};
    int32_t *rowc = NULL, *colc = NULL, *fold = NULL;
    gk_qepilogue ep2 = *ep;
    int ok = 1;
    if (za_any || zb_any) {
        if (za_one && zb_one) { /* separable: a term per row and one per column */
            uint32_t kz = (uint32_t)k * (uint32_t)za * (uint32_t)zb;
            if (zb_any && (rowc = (int32_t *)malloc((size_t)m * sizeof(int32_t))) != NULL)
                for (long i = 0; i < m; i++)
                    rowc[i] = (int32_t)(kz - (uint32_t)zb * (uint32_t)z->sa[i]);
            if (za_any && (colc = (int32_t *)malloc((size_t)n * sizeof(int32_t))) != NULL)
                for (long j = 0; j < n; j++)
                    colc[j] = (int32_t)((zb_any ? 0 : kz) - (uint32_t)za * (uint32_t)z->sb[j]);
            ok = (!zb_any || rowc) && (!za_any || colc);
            /* one of them folds into the bias where the bias does not vary the other way */
            if (ok && rowc && (!ep->bias || ep->bias_cs == 0) &&
                (fold = (int32_t *)malloc((size_t)(i0 + m) * sizeof(int32_t))) != NULL) {
                for (long i = 0; i < m; i++)
                    fold[i0 + i] = (int32_t)((uint32_t)rowc[i] +
                                             (uint32_t)(ep->bias ? ep->bias[(i0 + i) * ep->bias_rs] : 0));
                ep2.bias = fold, ep2.bias_rs = 1, ep2.bias_cs = 0;
                free(rowc);
                rowc = NULL;
            } else if (ok && !rowc && colc && (!ep->bias || ep->bias_rs == 0) &&
                       (fold = (int32_t *)malloc((size_t)(j0 + n) * sizeof(int32_t))) != NULL) {
                for (long j = 0; j < n; j++)
                    fold[j0 + j] = (int32_t)((uint32_t)colc[j] +
                                             (uint32_t)(ep->bias ? ep->bias[(j0 + j) * ep->bias_cs] : 0));
                ep2.bias = fold, ep2.bias_rs = 0, ep2.bias_cs = 1;
                free(colc);
                colc = NULL;
            }
        } else {
            q.gen = z;
        }
    }
    if (ok) {
        q.rowc = rowc, q.colc = colc, q.ep = &ep2;
        int nt = (double)m * n * k < QPAR_MIN ? 1 : threads;
        if (gk_qsplit_mode >= 2 && nt > 1 && j0 == 0) {
            /* the B panel pairs of each part of the pixels (src/qconv_split.h), part p on seat p:
             * the conv packer's parts, so a thread multiplies the panels it packed and writes
             * the output pixels the next layer's same part reads */
            long bounds[GK_QSPLIT_BOUNDS];
            int parts = GK_MIN(nt, GK_POOL_MAX_THREADS), pieces = gk_qsplit_npieces();
            gk_qsplit_unit_bounds(n, parts, pieces, 32, q.tm, q.tn * q.tm, bounds);
            q8_fused f = {&q, pre, pre_ctx};
            if (pre)
                gk_pool_run_parts(bounds, parts, pieces, nt, q8_fused_tasks, &f);
            else
                gk_pool_run_parts(bounds, parts, pieces, nt, q8_tasks, &q);
        } else {
            if (pre) pre(pre_ctx, 0, q.tn, 0); /* B whole first, on this thread */
            gk_parallel_range(q.tn * q.tm, nt, q8_tasks, &q);
        }
    }
    free(rowc);
    free(colc);
    free(fold);
    return ok;
}
