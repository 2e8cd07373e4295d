/* Dynamic int8 quantisation drivers (see qdynamic.h). */
#include <math.h>
#include <stdlib.h>

#include "dispatch.h"
#include "qdynamic.h"
#include "qelementwise.h"
#include "qgemm.h"
#include "threadpool.h"

/* min / max of x over units of QDYN_UNIT values on `threads` threads: an activation of a few
 * 10^4 values is split too (qminmax's own units are larger) */
#define QDYN_UNIT 4096
#define QDYN_MAX_UNITS 256

typedef struct {
    long n;
    const float *x;
    long unit;
    float lo[QDYN_MAX_UNITS], hi[QDYN_MAX_UNITS];
    int nan[QDYN_MAX_UNITS];
} qdyn_minmax_job;

static void qdyn_minmax_units(void *ctx, long u0, long u1, int seat) {
    qdyn_minmax_job *j = (qdyn_minmax_job *)ctx;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long i0 = u * j->unit, len = j->n - i0 < j->unit ? j->n - i0 : j->unit;
        float l = INFINITY, h = -INFINITY;
        int bad = 0;
        gk_k.qelementwise->minmax(len, j->x + i0, &l, &h, &bad);
        j->lo[u] = l, j->hi[u] = h, j->nan[u] = bad;
    }
}

static void qdyn_minmax(long n, const float *x, float *lo, float *hi, int *nan, int threads) {
    long units = (n + QDYN_UNIT - 1) / QDYN_UNIT;
    if (threads <= 1 || units < 4 || units > QDYN_MAX_UNITS) {
        gk_qminmax(n, x, lo, hi, nan, threads);
        return;
    }
    qdyn_minmax_job j;
    j.n = n, j.x = x, j.unit = QDYN_UNIT;
    gk_parallel_range(units, threads, qdyn_minmax_units, &j);
    float l = INFINITY, h = -INFINITY;
    int bad = 0;
    for (long u = 0; u < units; u++) {
        l = j.lo[u] < l ? j.lo[u] : l;
        h = j.hi[u] > h ? j.hi[u] : h;
        bad |= j.nan[u];
    }
    *lo = l, *hi = h, *nan = bad;
}

void gk_qdyn_params(long n, const float *x, float *scale, uint8_t *zp, int threads) {
    float lo = 0.0f, hi = 0.0f;
    int nan = 0;
    qdyn_minmax(n, x, &lo, &hi, &nan, threads);
    /* Python's max(0.0, h) / min(0.0, l): 0.0 unless h > 0 / l < 0 (NaN compares false) */
    float high = (!nan && hi > 0.0f) ? hi : 0.0f;
    float low = (!nan && lo < 0.0f) ? lo : 0.0f;
    float s = (high == low ? 1.0f : high - low) / 255.0f;
    double e = (double)(-low / s); /* float32 division, then widened as Python's float() */
    int32_t z = 0;
    if (e == e) {
        e = e < 0.0 ? 0.0 : e;
        e = e > 255.0 ? 255.0 : e;
        z = (int32_t)nearbyint(e); /* half to even, the default rounding mode */
    }
    *scale = s;
    *zp = (uint8_t)z;
}

void gk_qdyn_quantize(long n, const float *x, uint8_t *y, float *scale_out, uint8_t *zp_out,
                      int threads) {
    float s;
    uint8_t z;
    if (n <= 0) return;
    gk_qdyn_params(n, x, &s, &z, threads);
    gk_qquantize(n, x, s, (float)z, GK_Q_U8, y, 0, threads);
    *scale_out = s;
    *zp_out = z;
}

int gk_qdyn_matmul(long m, long n, long k, const float *x, long ldx, const uint8_t *a, int ta,
                   long lda, const float *a_scale, const uint8_t *a_zp, int q8,
                   const uint8_t *bq, int tb, const int32_t *zb, long zb_s, const int32_t *sb,
                   const int16_t *bp16, const gk_qepilogue *ep_b, uint8_t *ap8, int32_t *sa,
                   int16_t *ap16, float *mult_buf, float *c, long ldc, int threads) {
    float s;
    int32_t za;
    if (m <= 0 || n <= 0) return 1;
    if (x) {
        uint8_t z = 0;
        if (k > 0) {
            gk_qdyn_params(m * k, x, &s, &z, threads); /* x's rows: contiguous (ldx == k) */
        } else {
            s = 1.0f / 255.0f; /* an empty x: the reference's high == low == 0 */
        }
        za = z;
    } else {
        s = *a_scale;
        za = !a_zp ? 0 : (ta == GK_Q_U8 ? (int32_t)a_zp[0] : (int32_t)(int8_t)a_zp[0]);
    }
    /* the multiplier: float32(a_scale) * float32(b_scale[j]), rounded to float32 */
    long cnt = ep_b->mult_cs ? n : 1;
    int finite = 1;
    for (long j = 0; j < cnt; j++) {
        float v = s * ep_b->mult[j];
        mult_buf[j] = v;
        finite &= isfinite(v) ? 1 : 0;
    }
    gk_qepilogue ep = *ep_b;
    ep.mult = mult_buf;
    ep.mult_rs = 0;
    ep.mult_finite = finite;
    if (q8) {
        int to = x ? GK_Q_U8 : ta;
        if (x)
            gk_q8_pack_a_quantize(m, k, x, ldx, s, za, to, sa, ap8, threads);
        else
            gk_q8_pack_a(m, k, a, ta, lda, 1, to, sa, ap8, threads);
        gk_q8_zero zs = {&za, sa, zb, sb, 0, zb_s};
        return gk_q8_gemm(m, n, k, ap8, to, bq, tb, &zs, c, ldc, &ep, 0, 0, threads);
    }
    if (x)
        gk_qpack_a_quantize(m, k, x, ldx, s, za, ap16, threads);
    else
        gk_qpack_a(m, k, a, ta, lda, 1, &za, 0, ap16, threads);
    gk_qgemm_packed_at(m, n, k, ap16, bp16, c, ldc, &ep, 0, 0, threads);
    return 1;
}
