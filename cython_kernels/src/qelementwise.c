/* The int8 element-wise drivers (see qelementwise.h): runs of elements shared between threads. */
#include <math.h>
#include <stdlib.h>

#include "dispatch.h"
#include "isa.h"
#include "qelementwise.h"

#define QEW_CHUNK 16384 /* elements per thread's run (a fork costs a few us) */

void gk_qbinary(int op, long n, const void *a, const void *b, long b_step,
                const gk_qbinary_params *p, void *y, int threads) {
    const gk_qelementwise_kernels *k = gk_k.qelementwise;
    long chunks = (n + QEW_CHUNK - 1) / QEW_CHUNK;
    const char *ab = (const char *)a, *bb = (const char *)b;
    char *yb = (char *)y;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1 && threads > 1)
    for (long c = 0; c < chunks; c++) {
        long i0 = c * QEW_CHUNK, len = GK_MIN(QEW_CHUNK, n - i0);
        k->binary(op, len, ab + i0, bb + i0 * b_step, b_step, p, yb + i0);
    }
}

void gk_qrow_mean(long rows, long len, const void *x, int type, int32_t zx, float m, float zy,
                  float lo, float hi, void *y, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if (rows * len > 65536)
    for (long r = 0; r < rows; r++) {
        int64_t s = 0;
        if (type == GK_Q_U8) {
            const uint8_t *row = (const uint8_t *)x + r * len;
            for (long j = 0; j < len; j++) s += row[j];
        } else {
            const int8_t *row = (const int8_t *)x + r * len;
            for (long j = 0; j < len; j++) s += row[j];
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

void gk_qminmax(long n, const float *x, float *lo, float *hi, int *nan, int threads) {
    float l = INFINITY, h = -INFINITY;
    int bad = 0;
#pragma omp parallel for schedule(static) num_threads(threads) if (n > 4 * QEW_CHUNK) \
    reduction(min : l) reduction(max : h) reduction(| : bad)
    for (long i = 0; i < n; i++) {
        float v = x[i];
        l = v < l ? v : l;
        h = v > h ? v : h;
        bad |= v != v;
    }
    *lo = l;
    *hi = h;
    *nan = bad;
}

void gk_qquantize(long n, const float *x, float scale, float zp, int type, void *y, int threads) {
    const gk_qelementwise_kernels *k = gk_k.qelementwise;
    long chunks = (n + QEW_CHUNK - 1) / QEW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1 && threads > 1)
    for (long c = 0; c < chunks; c++) {
        long i0 = c * QEW_CHUNK;
        k->quantize(GK_MIN(QEW_CHUNK, n - i0), x + i0, scale, zp, type, (char *)y + i0);
    }
}

void gk_qdequantize(long n, const void *x, int type, int32_t zp, float scale, float *y,
                    int threads) {
    const gk_qelementwise_kernels *k = gk_k.qelementwise;
    long chunks = (n + QEW_CHUNK - 1) / QEW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1 && threads > 1)
    for (long c = 0; c < chunks; c++) {
        long i0 = c * QEW_CHUNK;
        k->dequantize(GK_MIN(QEW_CHUNK, n - i0), (const char *)x + i0, type, zp, scale, y + i0);
    }
}
