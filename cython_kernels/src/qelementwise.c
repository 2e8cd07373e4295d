/* The int8 element-wise drivers (see qelementwise.h): runs of QEW_CHUNK elements shared between
 * the pool's threads, or (gk_qsplit_mode 3, an NCHW tensor given its plane size) the same pixel
 * parts of every plane as the int8 conv's packer, depthwise kernel and GEMM (src/qconv_split.h),
 * part p on seat p, so a thread reads the pixels its own core wrote. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "qconv_split.h"
#include "qelementwise.h"
#include "threadpool.h"

#define QEW_CHUNK 16384 /* elements per unit of work (a pool call costs about a microsecond) */
#define QEW_PLANE_MIN 256
/* elements from which the pixel split runs on the threads (ext.qew_px_min sets it for A/B runs):
 * where the flat runs would too (over one QEW_CHUNK). Below, a pool call and 2 x planes short runs
 * cost more than the add: MobileNetV2's 64 x 14 x 14 and 160 x 7 x 7 adds, hot in both caches,
 * took 3.5 / 3.9 us on one thread and 5.2 / 7.9 us split in two (load 4.7) */
long gk_qew_px_min = QEW_CHUNK + 1;
/* and only planes of this many pixels or more (ext.qew_plane_min): smaller planes' pieces are a
 * few dozen pixels (ResNet-18's 512 x 7 x 7 add: 0, 32, 0 and 17 per plane), whose per-plane runs
 * cost more than the locality saves (measured in the setting's commit) */
long gk_qew_plane_min = QEW_PLANE_MIN;

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
    if (gk_qsplit_mode >= 3 && threads > 1 && n >= gk_qew_px_min && plane > 0 &&
        plane >= gk_qew_plane_min && n % plane == 0) {
        long bounds[GK_QSPLIT_BOUNDS];
        int parts = GK_MIN(threads, GK_POOL_MAX_THREADS), pieces = gk_qsplit_npieces(), empty = 0;
        gk_qsplit_px_bounds(plane, parts, pieces, bounds);
        for (int p = 0; p < parts; p++) empty |= bounds[p * pieces] == bounds[(p + 1) * pieces];
        if (!empty) { /* planes too small for a part per thread take the flat chunks */
            gk_pool_run_parts(bounds, parts, pieces, threads, qew_pixels, j);
            return;
        }
    }
    long chunks = (n + QEW_CHUNK - 1) / QEW_CHUNK;
    gk_parallel_range(chunks, qew_threads(chunks, threads), qew_units, j);
}

int gk_qbinary_fast_on = 1;

/* gk_qbinary_params.fast for op and p (qelementwise.h) */
static int qbinary_fast(int op, const gk_qbinary_params *p) {
    if (!gk_qbinary_fast_on) return 0;
    double ra = fabs((double)p->ra), rb = fabs((double)p->rb), f = fabs((double)p->fixed);
    if (!isfinite(ra) || !isfinite(rb) || !isfinite(f)) return 0;
    return (op == 0 ? f + 256.0 * (ra + rb) : f + 65536.0 * ra) < 1073741824.0;
}

void gk_qbinary(int op, long n, const void *a, const void *b, long b_step,
                const gk_qbinary_params *p, void *y, long plane, int threads) {
    qew_job j = {0};
    gk_qbinary_params q = *p;
    q.fast = qbinary_fast(op, p);
    j.kind = QEW_BINARY, j.op = op, j.n = n, j.a = a, j.b = b, j.b_step = b_step, j.p = &q;
    j.y = y, j.plane = plane;
    qew_run(&j, threads);
}

/* the exact sum of a row of len 8-bit values of type */
static int64_t qrow_sum(const uint8_t *row, long len, int type) {
    int64_t s = 0;
    long q = 0;
#if defined(__SSE2__)
    /* sums of 16 bytes as two 64-bit halves (psadbw against 0); int8 as bytes ^ 0x80 (the value
     * + 128), 128 per byte taken off after */
    __m128i acc = _mm_setzero_si128(), z = _mm_setzero_si128();
    __m128i f = _mm_set1_epi8(type == GK_Q_U8 ? 0 : (char)0x80);
    for (; q + 16 <= len; q += 16) {
        __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(row + q)), f);
        acc = _mm_add_epi64(acc, _mm_sad_epu8(v, z));
    }
    s = (int64_t)_mm_cvtsi128_si64(acc) + (int64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
    if (type != GK_Q_U8) s -= 128 * (int64_t)q;
#endif
    if (type == GK_Q_U8)
        for (; q < len; q++) s += row[q];
    else
        for (; q < len; q++) s += (int8_t)row[q];
    return s;
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
        int64_t s = qrow_sum((const uint8_t *)j->a + r * len, len, type);
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

/* ---- MaxPool on 8-bit planes ---------------------------------------------------------------- */

typedef struct {
    const uint8_t *x;
    uint8_t *y, flip; /* flip: 0x80 for int8 (its order as bytes xor 0x80 is the unsigned one) */
    long h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, wpad;
    gk_seat_bufs bufs; /* the padded row of column maxima and the row of window maxima */
    int failed;
} qmaxpool_job;

/* d[i] = max(d[i], s[i] ^ flip) for i < n (first: d[i] = s[i] ^ flip) */
static void qmax_rows(uint8_t *restrict d, const uint8_t *restrict s, long n, uint8_t flip,
                      int first) {
    long i = 0;
#if defined(__SSE2__)
    __m128i f = _mm_set1_epi8((char)flip);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(s + i)), f);
        if (!first) v = _mm_max_epu8(v, _mm_loadu_si128((const __m128i *)(d + i)));
        _mm_storeu_si128((__m128i *)(d + i), v);
    }
#endif
    for (; i < n; i++) {
        uint8_t v = (uint8_t)(s[i] ^ flip);
        d[i] = first || v > d[i] ? v : d[i];
    }
}

/* qmax_rows over n rounded up to 16 (d and s readable and d writable that far: the row buffers'
 * slack), so no scalar tail */
static void qmax_rows16(uint8_t *restrict d, const uint8_t *restrict s, long n) {
#if defined(__SSE2__)
    for (long i = 0; i < n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        _mm_storeu_si128((__m128i *)(d + i), _mm_max_epu8(v, _mm_loadu_si128((const __m128i *)(d + i))));
    }
#else
    qmax_rows(d, s, n, 0, 0);
#endif
}

/* planes [p0, p1): per output row, the column maxima over the window's rows inside the plane
 * (0 elsewhere: the lowest value after the flip) into a padded row, then the window maxima along
 * it, then every sw-th of those */
static void qmaxpool_planes(void *ctx, long p0, long p1, int seat) {
    qmaxpool_job *j = (qmaxpool_job *)ctx;
    long w = j->w, wpad = j->wpad, ow = j->ow, sw = j->sw;
    long in0 = GK_MIN(j->pw, wpad), in = GK_MAX(0, GK_MIN(w, wpad - j->pw));
    long span = (ow - 1) * sw + 1; /* window starts along the padded row */
    uint8_t *v = (uint8_t *)gk_seat_buf(&j->bufs, seat);
    if (!v) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    uint8_t *m = v + wpad + 64;
    memset(v, 0, (size_t)wpad);
    for (long pl = p0; pl < p1; pl++) {
        const uint8_t *x = j->x + (size_t)pl * (size_t)(j->h * w);
        uint8_t *y = j->y + (size_t)pl * (size_t)(j->oh * ow);
        for (long oy = 0; oy < j->oh; oy++, y += ow) {
            int first = 1;
            for (long ky = 0; ky < j->kh; ky++) {
                long iy = oy * j->sh - j->ph + ky * j->dh;
                if (iy < 0 || iy >= j->h) continue;
                qmax_rows(v + in0, x + iy * w, in, j->flip, first);
                first = 0;
            }
            if (first) memset(v + in0, 0, (size_t)in); /* no row inside: all padding */
            if (j->dw == 1) {
                memcpy(m, v, (size_t)span);
                for (long kx = 1; kx < j->kw; kx++) qmax_rows16(m, v + kx, span);
            } else {
                for (long i = 0; i < span; i++) {
                    uint8_t b = v[i];
                    for (long kx = 1; kx < j->kw; kx++) {
                        uint8_t t = v[i + kx * j->dw];
                        b = t > b ? t : b;
                    }
                    m[i] = b;
                }
            }
            long o = 0;
#if defined(__SSE2__)
            if (sw == 1 || sw == 2) { /* sw 2: the even bytes of 32 (m is read up to 31 bytes
                                       * past the span); the last partial 16 through a copy */
                __m128i even = _mm_set1_epi16(0x00FF), f = _mm_set1_epi8((char)j->flip);
                for (; o < ow; o += 16) {
                    __m128i p;
                    if (sw == 1) {
                        p = _mm_loadu_si128((const __m128i *)(m + o));
                    } else {
                        __m128i lo = _mm_loadu_si128((const __m128i *)(m + 2 * o));
                        __m128i hi = _mm_loadu_si128((const __m128i *)(m + 2 * o + 16));
                        p = _mm_packus_epi16(_mm_and_si128(lo, even), _mm_and_si128(hi, even));
                    }
                    p = _mm_xor_si128(p, f);
                    if (o + 16 <= ow) {
                        _mm_storeu_si128((__m128i *)(y + o), p);
                    } else {
                        uint8_t t[16];
                        _mm_storeu_si128((__m128i *)t, p);
                        memcpy(y + o, t, (size_t)(ow - o));
                    }
                }
                continue;
            }
#endif
            for (; o < ow; o++) y[o] = (uint8_t)(m[o * sw] ^ j->flip);
        }
    }
}

int gk_qmaxpool(const void *x, int type, long planes, long h, long w, long kh, long kw, long sh,
                long sw, long dh, long dw, long ph, long pw, long oh, long ow, void *y,
                int threads) {
    if (planes <= 0 || oh <= 0 || ow <= 0) return 1;
    qmaxpool_job j = {(const uint8_t *)x, (uint8_t *)y, type == GK_Q_S8 ? 0x80 : 0, h, w, kh, kw,
                      sh, sw, dh, dw, ph, pw, oh, ow, (ow - 1) * sw + (kw - 1) * dw + 1,
                      {0, {NULL}}, 0};
    /* the padded row (+ 64 bytes of slack: read up to 15 + kw dw past the span by qmax_rows16),
     * the window maxima (+ 64: written up to 15 past the span, read up to 31 past it by sw 2) */
    gk_seat_bufs_init(&j.bufs, 2 * (size_t)j.wpad + 128);
    double work = (double)planes * oh * ow * kh * kw;
    gk_parallel_range(planes, work < 65536 ? 1 : threads, qmaxpool_planes, &j);
    gk_seat_bufs_free(&j.bufs);
    return !j.failed;
}
