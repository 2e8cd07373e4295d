/* Probe (benchmarks/int8_dw_layout_probe.py builds and runs it; not part of the extension): what
 * the int8 16-channel depthwise kernel (src/qdw_q8_kernels.inc, qdw_block16) would save if its
 * activations were channels-last (NHWC) rather than NCHW planes. The kernel is restated here with
 * one change: `cl` picks where a pixel's 16 channels come from and go to. cl = 0: NCHW, as the
 * extension (each input row of 16 planes loaded and transposed 16 x 16 bytes at a time; the
 * output pixels staged and transposed back to 16 planes). cl = 1: NHWC, a pixel's 16 channels
 * one 16-byte load, and the output pixels stored straight at the pixel's channels (no stage, no
 * transposes). The same sums and requantisation (int16 pairs, vpdpwssd, float32 epilogue), so the
 * difference is the layout's cost alone. Usage: probe REPS, then one line per layer on stdin
 * "c h w k stride pad"; prints "c h w k stride ns_nchw_min ns_nchw_med ns_nhwc_min ns_nhwc_med
 * equal" (equal: the NHWC output is the NCHW output transposed). Single thread. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRIP_BYTES (256 * 1024)
#define MAX_PAIRS 64

static long wp_of(long kw, long sw, long dw, long ow) { return (ow - 1) * sw + (kw - 1) * dw + 1; }
static long cols_of(long kw, long sw, long dw, long ow) {
    long g = sw % 2 == 0 ? 2 : 1;
    return (wp_of(kw, sw, dw, ow) + g - 1) / g;
}
static long strip_of(long kh, long kw, long sh, long sw, long dh, long dw, long oh, long ow) {
    long rows = STRIP_BYTES / (cols_of(kw, sw, dw, ow) * 64), span = (kh - 1) * dh + 1;
    long r = rows > span ? (rows - span) / sh + 1 : 1;
    return r < oh ? r : oh;
}

static inline void t16(const __m128i r[16], __m128i o[16]) {
    __m128i l[8], hh[8], s2[4][4];
    for (int k = 0; k < 8; k++) {
        l[k] = _mm_unpacklo_epi8(r[2 * k], r[2 * k + 1]);
        hh[k] = _mm_unpackhi_epi8(r[2 * k], r[2 * k + 1]);
    }
    for (int q = 0; q < 4; q++) {
        s2[0][q] = _mm_unpacklo_epi16(l[2 * q], l[2 * q + 1]);
        s2[1][q] = _mm_unpackhi_epi16(l[2 * q], l[2 * q + 1]);
        s2[2][q] = _mm_unpacklo_epi16(hh[2 * q], hh[2 * q + 1]);
        s2[3][q] = _mm_unpackhi_epi16(hh[2 * q], hh[2 * q + 1]);
    }
    for (int g = 0; g < 4; g++) {
        __m128i s3[2][2];
        for (int oc = 0; oc < 2; oc++) {
            s3[oc][0] = _mm_unpacklo_epi32(s2[g][2 * oc], s2[g][2 * oc + 1]);
            s3[oc][1] = _mm_unpackhi_epi32(s2[g][2 * oc], s2[g][2 * oc + 1]);
        }
        for (int hf = 0; hf < 2; hf++) {
            o[4 * g + 2 * hf] = _mm_unpacklo_epi64(s3[0][hf], s3[1][hf]);
            o[4 * g + 2 * hf + 1] = _mm_unpackhi_epi64(s3[0][hf], s3[1][hf]);
        }
    }
}

static inline __m128i epi(__m512i s, __m512i bias, __m512 mult, __m512i zp, __m512 lo, __m512 hi) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s, bias)), mult);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    __m512i q = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(q, zp));
}

/* one output row, pixel ox's 16 bytes stored at st + ox * ps (as the extension's qdw16_row, 4
 * pixels at a time, the last 4 overlapping; inlined with npairs 6 for 3x3 windows) */
static inline __attribute__((always_inline)) void row(const __m512i *rows, const long *offs,
                                                      const __m512i *wk, const long npairs,
                                                      long step, long ow, __m512i b, __m512 m,
                                                      __m512i z, __m512 lo, __m512 hi, uint8_t *st,
                                                      long ps) {
    if (ow < 4) {
        for (long ox = 0; ox < ow; ox++) {
            __m512i a0 = _mm512_setzero_si512();
            for (long t = 0; t < npairs; t++)
                a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)(rows + offs[t] + ox * step)), wk[t]);
            _mm_storeu_si128((__m128i *)(st + ox * ps), epi(a0, b, m, z, lo, hi));
        }
        return;
    }
    for (long o4 = 0; o4 < ow; o4 += 4) {
        long ox = o4 + 4 <= ow ? o4 : ow - 4;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        const __m512i *rr = rows + ox * step;
        for (long t = 0; t < npairs; t++) {
            __m512i wv = wk[t];
            const __m512i *pp = rr + offs[t];
            a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)pp), wv);
            a1 = _mm512_dpwssd_epi32(a1, _mm512_loadu_si512((const void *)(pp + step)), wv);
            a2 = _mm512_dpwssd_epi32(a2, _mm512_loadu_si512((const void *)(pp + 2 * step)), wv);
            a3 = _mm512_dpwssd_epi32(a3, _mm512_loadu_si512((const void *)(pp + 3 * step)), wv);
        }
        uint8_t *d = st + ox * ps;
        _mm_storeu_si128((__m128i *)d, epi(a0, b, m, z, lo, hi));
        _mm_storeu_si128((__m128i *)(d + ps), epi(a1, b, m, z, lo, hi));
        _mm_storeu_si128((__m128i *)(d + 2 * ps), epi(a2, b, m, z, lo, hi));
        _mm_storeu_si128((__m128i *)(d + 3 * ps), epi(a3, b, m, z, lo, hi));
    }
}

/* 16 channels [c0, c0 + 16) of a depthwise conv, u8 in and out; x / y NCHW planes (cl 0) or
 * NHWC pixels of c channels (cl 1) */
static void block16(int cl, const uint8_t *x, long c, long c0, long h, long w, const int16_t *wt,
                    long kh, long kw, long sh, long sw, long ph, long pw, long oh, long ow,
                    int32_t zx, const int32_t *bias, const float *mult, int32_t zp, uint8_t *y,
                    void *work) {
    const long dh = 1, dw = 1, np = (kw + 1) / 2, g = sw % 2 == 0 ? 2 : 1, taps = kh * kw;
    const long wp = wp_of(kw, sw, dw, ow), wb = cols_of(kw, sw, dw, ow);
    const long rstrip = strip_of(kh, kw, sh, sw, dh, dw, oh, ow);
    const long srows = (rstrip - 1) * sh + (kh - 1) * dh + 1, step = sw / g;
    const size_t plane_in = (size_t)h * w, plane_out = (size_t)oh * ow;
    uint8_t *base = (uint8_t *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    int16_t *pairs = (int16_t *)base;
    uint8_t *rowb = base + (size_t)srows * wb * 64;
    uint8_t *stage = rowb + (size_t)(wp + dw + 32) * 16;
    int16_t *wpr = (int16_t *)(((uintptr_t)(stage + (size_t)(rstrip * ow + 16) * 16) + 63) & ~(uintptr_t)63);
    for (long ky = 0; ky < kh; ky++)
        for (long q = 0; q < np; q++) {
            int16_t *d = wpr + (ky * np + q) * 32;
            for (long ch = 0; ch < 16; ch++) {
                const int16_t *wc = wt + (c0 + ch) * taps + ky * kw;
                d[2 * ch] = wc[2 * q];
                d[2 * ch + 1] = 2 * q + 1 < kw ? wc[2 * q + 1] : 0;
            }
        }
    long offs[MAX_PAIRS], npairs = kh * np;
    for (long ky = 0; ky < kh; ky++)
        for (long q = 0; q < np; q++) offs[ky * np + q] = ky * dh * wb + q * 2 * dw / g;
    __m512i w6[6];
    long o6[6];
    for (long t = 0; t < 6 && npairs == 6; t++) {
        w6[t] = _mm512_loadu_si512((const void *)(wpr + t * 32));
        o6[t] = offs[t];
    }
    const __m512i *wk = (const __m512i *)wpr;
    const __m512i bv = _mm512_loadu_si512((const void *)(bias + c0));
    const __m512 mv = _mm512_loadu_ps(mult + c0);
    const __m512i zpv = _mm512_set1_epi32(zp);
    const __m512 lov = _mm512_set1_ps(0.0f - zp), hiv = _mm512_set1_ps(255.0f - zp);
    const __m256i zx16 = _mm256_set1_epi16((int16_t)zx);
    const __m128i padb = _mm_set1_epi8((char)zx);
    const long nin = w < wp + dw - pw ? w : wp + dw - pw;
    const uint8_t *xb = cl ? x + c0 : x + c0 * plane_in;
    for (long oy0 = 0; oy0 < oh; oy0 += rstrip) {
        long oy1 = oy0 + rstrip < oh ? oy0 + rstrip : oh, ys = oy0 * sh;
        long ye = (oy1 - 1) * sh + (kh - 1) * dh + 1;
        for (long yy = ys; yy < ye; yy++) {
            __m512i *prow = (__m512i *)(pairs + (yy - ys) * wb * 32);
            long iy = yy - ph;
            if (iy < 0 || iy >= h || nin <= 0) {
                for (long j = 0; j < wb; j++) _mm512_storeu_si512(prow + j, _mm512_setzero_si512());
                continue;
            }
            if (cl) { /* a pixel's 16 channels are 16 bytes */
                const uint8_t *xr = xb + (size_t)(iy * w) * c;
                for (long ix = 0; ix < nin; ix++)
                    _mm_storeu_si128((__m128i *)(rowb + (pw + ix) * 16),
                                     _mm_loadu_si128((const __m128i *)(xr + ix * c)));
            } else {
                for (long ix = 0; ix < nin; ix += 16) {
                    long n = nin - ix < 16 ? nin - ix : 16;
                    __mmask16 mk = (__mmask16)((1u << n) - 1);
                    __m128i r[16], o[16];
                    const uint8_t *xr = xb + iy * w + ix;
                    for (long ch = 0; ch < 16; ch++) r[ch] = _mm_maskz_loadu_epi8(mk, xr + ch * plane_in);
                    t16(r, o);
                    for (long p = 0; p < 16; p++) _mm_storeu_si128((__m128i *)(rowb + (pw + ix + p) * 16), o[p]);
                }
            }
            for (long xx = 0; xx < pw; xx++) _mm_storeu_si128((__m128i *)(rowb + xx * 16), padb);
            for (long xx = pw + nin; xx < wp + dw; xx++) _mm_storeu_si128((__m128i *)(rowb + xx * 16), padb);
            for (long j = 0; j < wb; j++) {
                const uint8_t *a = rowb + j * g * 16;
                __m128i va = _mm_loadu_si128((const __m128i *)a);
                __m128i vb = _mm_loadu_si128((const __m128i *)(a + dw * 16));
                __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(va, vb)),
                                                    _mm_unpackhi_epi8(va, vb), 1);
                _mm512_storeu_si512(prow + j, _mm512_sub_epi16(_mm512_cvtepu8_epi16(b),
                                                               _mm512_broadcast_i64x4(zx16)));
            }
        }
        for (long oy = oy0; oy < oy1; oy++) {
            const __m512i *rows = (const __m512i *)(pairs + (oy - oy0) * sh * wb * 32);
            uint8_t *st = cl ? y + (size_t)(oy * ow) * c + c0 : stage + (oy - oy0) * ow * 16;
            long ps = cl ? c : 16;
            if (npairs == 6)
                row(rows, o6, w6, 6, step, ow, bv, mv, zpv, lov, hiv, st, ps);
            else
                row(rows, offs, wk, npairs, step, ow, bv, mv, zpv, lov, hiv, st, ps);
        }
        if (cl) continue;
        long npx = (oy1 - oy0) * ow;
        for (long p0 = 0; p0 < npx; p0 += 16) {
            long n = npx - p0 < 16 ? npx - p0 : 16;
            __mmask16 mk = (__mmask16)((1u << n) - 1);
            __m128i r[16], o[16];
            const __m128i *sp = (const __m128i *)(stage + p0 * 16);
            for (long p = 0; p < 16; p++) r[p] = p < n ? _mm_loadu_si128(sp + p) : _mm_setzero_si128();
            t16(r, o);
            for (long ch = 0; ch < 16; ch++)
                _mm_mask_storeu_epi8(y + (c0 + ch) * plane_out + oy0 * ow + p0, mk, o[ch]);
        }
    }
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 50;
    long c, h, w, k, s, p;
    while (scanf("%ld %ld %ld %ld %ld %ld", &c, &h, &w, &k, &s, &p) == 6) {
        long oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
        uint8_t *x = malloc((size_t)c * h * w), *xl = malloc((size_t)c * h * w);
        uint8_t *y = malloc((size_t)c * oh * ow), *yl = malloc((size_t)c * oh * ow);
        int16_t *wt = malloc((size_t)c * k * k * sizeof(int16_t));
        int32_t *bias = malloc((size_t)c * sizeof(int32_t));
        float *mult = malloc((size_t)c * sizeof(float));
        void *work = malloc(8u << 20);
        srand(1);
        for (long i = 0; i < c * h * w; i++) x[i] = (uint8_t)rand();
        for (long ch = 0; ch < c; ch++)
            for (long i = 0; i < h * w; i++) xl[i * c + ch] = x[ch * h * w + i];
        for (long i = 0; i < c * k * k; i++) wt[i] = (int16_t)(rand() % 255 - 127);
        for (long ch = 0; ch < c; ch++) bias[ch] = rand() % 20000 - 10000, mult[ch] = 0.0004f + 0.0001f * (ch % 7);
        double *t[2];
        t[0] = malloc(reps * sizeof(double)), t[1] = malloc(reps * sizeof(double));
        for (int r = -3; r < reps; r++)
            for (int v0 = 0; v0 < 2; v0++) {
                int v = (v0 + r) & 1; /* interleaved, alternating which goes first */
                double t0 = now_ns();
                for (long c0 = 0; c0 < c; c0 += 16)
                    block16(v, v ? xl : x, c, c0, h, w, wt, k, k, s, s, p, p, oh, ow, 3, bias, mult, 7,
                            v ? yl : y, work);
                if (r >= 0) t[v][r] = now_ns() - t0;
            }
        int equal = 1;
        for (long ch = 0; ch < c && equal; ch++)
            for (long i = 0; i < oh * ow; i++)
                if (yl[i * c + ch] != y[ch * oh * ow + i]) {
                    equal = 0;
                    break;
                }
        qsort(t[0], reps, sizeof(double), cmp);
        qsort(t[1], reps, sizeof(double), cmp);
        printf("%ld %ld %ld %ld %ld %.0f %.0f %.0f %.0f %d\n", c, h, w, k, s, t[0][0], t[0][reps / 2],
               t[1][0], t[1][reps / 2], equal);
        fflush(stdout);
        free(x), free(xl), free(y), free(yl), free(wt), free(bias), free(mult), free(work);
        free(t[0]), free(t[1]);
    }
    return 0;
}
