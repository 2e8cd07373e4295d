/* The int8 element-wise drivers (see qelementwise.h): runs of QEW_CHUNK elements shared between
 * the pool's threads, or (gk_qsplit_mode 3, an NCHW tensor given its plane size) the same pixel
 * parts of every plane as the int8 conv's packer, depthwise kernel and GEMM (src/qconv_split.h),
 * part p on seat p, so a thread reads the pixels its own core wrote. */
#include <math.h>
#include <stdlib.h>

#include "dispatch.h"
#include "isa.h"
#include "qconv_split.h"
#include "qelementwise.h"
#include "threadpool.h"

#define QEW_CHUNK 16384 /* elements per unit of work (a pool call costs about a microsecond) */
/* elements from which the pixel split runs on the threads (ext.qew_px_min sets it for A/B runs):
 * where the flat runs would too (over one QEW_CHUNK). Below, a pool call and 2 x planes short runs
 * cost more than the add: MobileNetV2's 64 x 14 x 14 and 160 x 7 x 7 adds, hot in both caches,
 * took 3.5 / 3.9 us on one thread and 5.2 / 7.9 us split in two (load 4.7) */
long gk_qew_px_min = QEW_CHUNK + 1;

enum { QEW_BINARY, QEW_QUANTIZE, QEW_DEQUANTIZE };

typedef struct {
    int kind, op, type;
    long n, len, b_step, plane;
    const void *a, *b;
    const gk_qbinary_params *p;
    void *y;
    int32_t zx, zp;
    float m, zy, lo, hi, scale;
    const float *x;
    float *fy, *lo_c, *hi_c; /* qminmax: per unit */
    int *nan_c;
} qew_job;

static int qew_threads(long chunks, int threads) { return chunks > 1 ? threads : 1; }

/* elements [i0, i0 + len) of a binary op, QuantizeLinear or DequantizeLinear */
static void qew_span(const qew_job *j, long i0, long len) {
    const gk_qelementwise_kernels *kt = gk_k.qelementwise;
    if (j->kind == QEW_BINARY)
        kt->binary(j->op, len, (const char *)j->a + i0, (const char *)j->b + i0 * j->b_step,
                   j->b_step, j->p, (char *)j->y + i0);
    else if (j->kind == QEW_QUANTIZE)
        kt->quantize(len, j->x + i0, j->scale, j->zy, j->type, (char *)j->y + i0);
    else
        kt->dequantize(len, (const char *)j->a + i0, j->type, j->zp, j->scale, j->fy + i0);
}

static void qew_units(void *ctx, long u0, long u1, int seat) {
    const qew_job *j = (const qew_job *)ctx;
    (void)seat;
    for (long c = u0; c < u1; c++)
        qew_span(j, c * QEW_CHUNK, GK_MIN(QEW_CHUNK, j->n - c * QEW_CHUNK));
}

/* pixels [p0, p1) of every plane */
static void qew_pixels(void *ctx, long p0, long p1, int seat) {
    const qew_job *j = (const qew_job *)ctx;
    (void)seat;
    for (long i0 = 0; i0 < j->n; i0 += j->plane) qew_span(j, i0 + p0, p1 - p0);
}

static void qew_run(qew_job *j, int threads) {
    long n = j->n, plane = j->plane;
    if (gk_qsplit_mode >= 3 && threads > 1 && n >= gk_qew_px_min && plane > 0 && n % plane == 0) {
        long bounds[GK_QSPLIT_BOUNDS];
        int parts = GK_MIN(threads, GK_POOL_MAX_THREADS), pieces = gk_qsplit_npieces(), empty = 0;
        gk_qsplit_px_bounds(plane, parts, pieces, bounds);
        for (int p = 0; p < parts; p++) empty |= bounds[p * pieces] == bounds[(p + 1) * pieces];
        if (!empty) { /* planes too small for a part per thread take the flat chunks */
            gk_qsplit_run(bounds, parts, pieces, threads, qew_pixels, j);
            return;
        }
    }
    long chunks = (n + QEW_CHUNK - 1) / QEW_CHUNK;
    gk_parallel_range(chunks, qew_threads(chunks, threads), qew_units, j);
}

void gk_qbinary(int op, long n, const void *a, const void *b, long b_step,
                const gk_qbinary_params *p, void *y, long plane, int threads) {
    qew_job j = {0};
    j.kind = QEW_BINARY, j.op = op, j.n = n, j.a = a, j.b = b, j.b_step = b_step, j.p = p;
    j.y = y, j.plane = plane;
    qew_run(&j, threads);
}

static void qrow_mean_rows(void *ctx, long r0, long r1, int seat) {
    const qew_job *j = (const qew_job *)ctx;
    long len = j->len;
    int type = j->type;
    int32_t zx = j->zx;
    float m = j->m, zy = j->zy, lo = j->lo, hi = j->hi;
    void *y = j->y;
    (void)seat;
    for (long r = r0; r < r1; r++) {
        int64_t s = 0;
        if (type == GK_Q_U8) {
            const uint8_t *row = (const uint8_t *)j->a + r * len;
            for (long q = 0; q < len; q++) s += row[q];
        } else {
            const int8_t *row = (const int8_t *)j->a + r * len;
            for (long q = 0; q < len; q++) s += row[q];
        }
        s -= (int64_t)zx * len;
        /* rint in float32, then + zy exactly (the reference adds it in float64) */
        double v = (double)nearbyintf((float)s * m) + (double)zy;
        v = v != v ? 0.0 : v;
        v = v < lo ? lo : v > hi ? hi : v;
        if (type == GK_Q_U8)
            ((uint8_t *)y)[r] = (uint8_t)(int)v;
        else
            ((int8_t *)y)[r] = (int8_t)(int)v;
    }
}

void gk_qrow_mean(long rows, long len, const void *x, int type, int32_t zx, float m, float zy,
                  float lo, float hi, void *y, int threads) {
    qew_job j = {0};
    j.len = len, j.a = x, j.type = type, j.zx = zx, j.m = m, j.zy = zy, j.lo = lo, j.hi = hi;
    j.y = y;
    gk_parallel_range(rows, rows * len > 65536 ? threads : 1, qrow_mean_rows, &j);
}

/* min, max and any NaN of units [u0, u1), each unit on its own (combined in unit order after) */
static void qminmax_units(void *ctx, long u0, long u1, int seat) {
    const qew_job *j = (const qew_job *)ctx;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        float l = INFINITY, h = -INFINITY;
        int bad = 0;
        long i0 = u * QEW_CHUNK;
        gk_k.qelementwise->minmax(GK_MIN(QEW_CHUNK, j->n - i0), j->x + i0, &l, &h, &bad);
        j->lo_c[u] = l;
        j->hi_c[u] = h;
        j->nan_c[u] = bad;
    }
}

void gk_qminmax(long n, const float *x, float *lo, float *hi, int *nan, int threads) {
    long units = (n + QEW_CHUNK - 1) / QEW_CHUNK;
    float l = INFINITY, h = -INFINITY;
    int bad = 0;
    qew_job j = {0};
    j.n = n, j.x = x;
    j.lo_c = (float *)malloc((size_t)(units > 0 ? units : 1) * 2 * sizeof(float));
    j.nan_c = (int *)malloc((size_t)(units > 0 ? units : 1) * sizeof(int));
    if (j.lo_c && j.nan_c && units > 4) {
        j.hi_c = j.lo_c + units;
        gk_parallel_range(units, threads, qminmax_units, &j);
        for (long u = 0; u < units; u++) {
            l = j.lo_c[u] < l ? j.lo_c[u] : l;
            h = j.hi_c[u] > h ? j.hi_c[u] : h;
            bad |= j.nan_c[u];
        }
    } else {
        gk_k.qelementwise->minmax(n, x, &l, &h, &bad);
    }
    free(j.lo_c);
    free(j.nan_c);
    *lo = l;
    *hi = h;
    *nan = bad;
}

void gk_qquantize(long n, const float *x, float scale, float zp, int type, void *y, long plane,
                  int threads) {
    qew_job j = {0};
    j.kind = QEW_QUANTIZE, j.n = n, j.x = x, j.scale = scale, j.zy = zp, j.type = type, j.y = y;
    j.plane = plane;
    qew_run(&j, threads);
}

void gk_qdequantize(long n, const void *x, int type, int32_t zp, float scale, float *y, long plane,
                    int threads) {
    qew_job j = {0};
    j.kind = QEW_DEQUANTIZE, j.n = n, j.a = x, j.type = type, j.zp = zp, j.scale = scale;
    j.fy = y, j.plane = plane;
    qew_run(&j, threads);
}
