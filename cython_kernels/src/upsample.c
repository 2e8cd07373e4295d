/* upsample kernels: ConvTranspose's col2im (after the packed GEMM) and separable Resize.
 *
 * col2im: per output channel (one channel per thread at a time, so no two threads write the same
 * output), the kh*kw tap rows of the GEMM result are added, in tap order, into sh*sw phase planes
 * (output pixel (oy, ox) lives in phase (oy % sh, ox % sw) at (oy / sh, ox / sw)): every tap then
 * adds contiguous row segments (vectorised), and one pass interleaves the phases into the output
 * and adds the bias. Stride 1 accumulates straight into the output plane.
 *
 * Resize: separable tables computed in Python by the reference's own helpers (input index and
 * weight per output index and tap, per axis); nearest is a gather (+0.0f, as the reference's
 * float64 `0 + x * 1` turns -0.0 into +0.0), 2x a register duplication; weighted modes (linear,
 * cubic, antialias) sum in double in the reference's order: H taps, then W taps, rounded once
 * (the AVX2 variant may fuse a multiply-add: a double-rounding difference, invisible in float32
 * in every test so far).
 */
#include <stdlib.h>
#include <string.h>

#include "gk.h"
#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- ConvTranspose col2im ------------------------------------------------------------------ */

static inline long gk_floor_mod(long a, long b) {
    long r = a % b;
    return r < 0 ? r + b : r;
}

/* rows (or columns) of phase r: the output indices o < n with o % s == r */
static inline long gk_phase_len(long n, long s, long r) { return r < n ? (n - r + s - 1) / s : 0; }

static inline __attribute__((always_inline)) void col2im_channel_body(
    const float *cols, long h, long w, long kh, long kw, long sh, long sw, long dh, long dw,
    long ph, long pw, long oh, long ow, float bias, int has_bias, float *y, float *work) {
    long qh = (oh + sh - 1) / sh, qw = (ow + sw - 1) / sw;
    int direct = sh == 1 && sw == 1;
    float *acc = direct ? y : work;
    memset(acc, 0, sizeof(float) * (size_t)(sh * sw * qh * qw));
    for (long ky = 0; ky < kh; ky++) {
        long offy = ky * dh - ph, ry = gk_floor_mod(offy, sh), dy = (offy - ry) / sh;
        long ny = gk_phase_len(oh, sh, ry);
        long iy0 = GK_MAX(0, -dy), iy1 = GK_MIN(h, ny - dy);
        for (long kx = 0; kx < kw; kx++) {
            long offx = kx * dw - pw, rx = gk_floor_mod(offx, sw), dx = (offx - rx) / sw;
            long nx = gk_phase_len(ow, sw, rx);
            long ix0 = GK_MAX(0, -dx), ix1 = GK_MIN(w, nx - dx);
            const float *tap = cols + (ky * kw + kx) * h * w;
            float *plane = acc + (ry * sw + rx) * qh * qw;
            if (ix1 <= ix0) continue;
            for (long iy = iy0; iy < iy1; iy++) {
                float *dst = plane + (iy + dy) * qw + dx;
                const float *src = tap + iy * w;
                for (long ix = ix0; ix < ix1; ix++) dst[ix] += src[ix];
            }
        }
    }
    if (direct) {
        if (has_bias)
            for (long i = 0; i < oh * ow; i++) y[i] += bias;
        return;
    }
    float b = has_bias ? bias : 0.0f;
    for (long oy = 0; oy < oh; oy++) {
        long ry = oy % sh, oq = oy / sh;
        float *yr = y + oy * ow;
        const float *p0 = acc + (ry * sw * qh + oq) * qw;
        if (sw == 2) {
            const float *p1 = p0 + qh * qw;
            long half = ow / 2;
            if (has_bias) {
                for (long j = 0; j < half; j++) {
                    yr[2 * j] = p0[j] + b;
                    yr[2 * j + 1] = p1[j] + b;
                }
                if (ow & 1) yr[ow - 1] = p0[half] + b;
            } else {
                for (long j = 0; j < half; j++) {
                    yr[2 * j] = p0[j];
                    yr[2 * j + 1] = p1[j];
                }
                if (ow & 1) yr[ow - 1] = p0[half];
            }
            continue;
        }
        for (long rx = 0; rx < sw; rx++) {
            const float *pr = p0 + rx * qh * qw;
            long n = gk_phase_len(ow, sw, rx);
            if (has_bias)
                for (long j = 0; j < n; j++) yr[j * sw + rx] = pr[j] + b;
            else
                for (long j = 0; j < n; j++) yr[j * sw + rx] = pr[j];
        }
    }
}

GK_TARGET_AVX2 static void col2im_channel_avx2(const float *cols, long h, long w, long kh,
                                               long kw, long sh, long sw, long dh, long dw,
                                               long ph, long pw, long oh, long ow, float bias,
                                               int has_bias, float *y, float *work) {
    col2im_channel_body(cols, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bias, has_bias, y,
                        work);
}

static void col2im_channel_generic(const float *cols, long h, long w, long kh, long kw, long sh,
                                   long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                                   float bias, int has_bias, float *y, float *work) {
    col2im_channel_body(cols, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, bias, has_bias, y,
                        work);
}

/* floats of work col2im needs per thread */
size_t gk_col2im_work(long sh, long sw, long oh, long ow) {
    if (sh == 1 && sw == 1) return 0;
    return (size_t)(sh * sw * ((oh + sh - 1) / sh) * ((ow + sw - 1) / sw));
}

/* y[m, oy, ox] = sum_{ky, kx} cols[m, ky, kx, iy, ix] (oy = iy*sh + ky*dh - ph, ox likewise)
 * + bias[m]; cols (c, kh, kw, h, w), y (c, oh, ow); work: threads * gk_col2im_work floats */
void gk_col2im(const float *cols, long c, long h, long w, long kh, long kw, long sh, long sw,
               long dh, long dw, long ph, long pw, long oh, long ow, const float *bias, float *y,
               float *work, int threads) {
    size_t per = gk_col2im_work(sh, sw, oh, ow);
    long nt = threads < 1 ? 1 : threads;
    if (nt > c) nt = c;
    if ((double)c * kh * kw * h * w < 65536.0) nt = 1;
    int avx2 = gk_simd_avx2;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long m = 0; m < c; m++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        const float *cm = cols + m * kh * kw * h * w;
        float *ym = y + m * oh * ow, *wk = work ? work + (size_t)tid * per : NULL;
        float b = bias ? bias[m] : 0.0f;
        if (avx2)
            col2im_channel_avx2(cm, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, b, bias != NULL,
                                ym, wk);
        else
            col2im_channel_generic(cm, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, b,
                                   bias != NULL, ym, wk);
    }
}

/* ---- Resize ---------------------------------------------------------------------------------- */

/* Tables are tap-major: axis tap t of output index o is at [t * out_len + o]. */

/* Nearest, one run of k output rows that read the same input row xr: y = xr[iw[o]] + 0 (iw NULL:
 * identity, then + 0 only if add0), written to the k rows yr, yr + ow, ... */
static void nearest_rows_generic(const float *xr, float *yr, long k, long w, long ow,
                                 const int *iw, int dup2, int add0) {
    if (!iw) {
        if (add0)
            for (long j = 0; j < ow; j++) yr[j] = xr[j] + 0.0f;
        else
            memcpy(yr, xr, sizeof(float) * (size_t)ow);
    } else if (dup2) {
        for (long j = 0; j < w; j++) {
            float v = xr[j] + 0.0f;
            yr[2 * j] = v;
            yr[2 * j + 1] = v;
        }
    } else {
        for (long j = 0; j < ow; j++) yr[j] = xr[iw[j]] + 0.0f;
    }
    for (long d = 1; d < k; d++) memcpy(yr + d * ow, yr, sizeof(float) * (size_t)ow);
}

#if GK_X86
GK_TARGET_AVX2 static void nearest_rows_avx2(const float *xr, float *yr, long k, long w, long ow,
                                             const int *iw, int dup2, int add0) {
    const __m256 zero = _mm256_setzero_ps();
    if (iw && dup2) {
        long j = 0;
        for (; j + 8 <= w; j += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(xr + j), zero);
            __m256 lo = _mm256_unpacklo_ps(v, v); /* a0 a0 a1 a1 | a4 a4 a5 a5 */
            __m256 hi = _mm256_unpackhi_ps(v, v); /* a2 a2 a3 a3 | a6 a6 a7 a7 */
            __m256 first = _mm256_permute2f128_ps(lo, hi, 0x20);
            __m256 second = _mm256_permute2f128_ps(lo, hi, 0x31);
            for (long d = 0; d < k; d++) {
                _mm256_storeu_ps(yr + d * ow + 2 * j, first);
                _mm256_storeu_ps(yr + d * ow + 2 * j + 8, second);
            }
        }
        if (j + 4 <= w) { /* masked stores are slow on AMD: 4 then scalars */
            __m128 v = _mm_add_ps(_mm_loadu_ps(xr + j), _mm_setzero_ps());
            __m128 lo = _mm_unpacklo_ps(v, v), hi = _mm_unpackhi_ps(v, v);
            for (long d = 0; d < k; d++) {
                _mm_storeu_ps(yr + d * ow + 2 * j, lo);
                _mm_storeu_ps(yr + d * ow + 2 * j + 4, hi);
            }
            j += 4;
        }
        if (j + 2 <= w) {
            __m128 v = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)(xr + j)));
            v = _mm_add_ps(v, _mm_setzero_ps());
            v = _mm_unpacklo_ps(v, v);
            for (long d = 0; d < k; d++) _mm_storeu_ps(yr + d * ow + 2 * j, v);
            j += 2;
        }
        for (; j < w; j++) {
            float v = xr[j] + 0.0f;
            for (long d = 0; d < k; d++) {
                yr[d * ow + 2 * j] = v;
                yr[d * ow + 2 * j + 1] = v;
            }
        }
        return;
    }
    if (!iw && !add0) {
        for (long d = 0; d < k; d++) memcpy(yr + d * ow, xr, sizeof(float) * (size_t)ow);
        return;
    }
    if (iw) { /* a general gather: scalar loads measured faster than vgatherdps here (Zen 5) */
        nearest_rows_generic(xr, yr, k, w, ow, iw, dup2, add0);
        return;
    }
    long j = 0;
    for (; j + 8 <= ow; j += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(xr + j), zero);
        for (long d = 0; d < k; d++) _mm256_storeu_ps(yr + d * ow + j, v);
    }
    for (; j < ow; j++) {
        float v = xr[j] + 0.0f;
        for (long d = 0; d < k; d++) yr[d * ow + j] = v;
    }
}
#endif

/* rows r0..r1 (of p * oh) of a nearest resize */
static void nearest_range(const float *x, long h, long w, float *y, long oh, long ow, long r0,
                          long r1, int th, const int *ih, const int *iw, int dup2, int add0,
                          int avx2) {
    long pl = r0 / oh, oy = r0 - pl * oh;
    for (long r = r0; r < r1;) {
        long src = th ? ih[oy] : oy, k = 1;
        while (th && r + k < r1 && oy + k < oh && ih[oy + k] == src) k++;
        const float *xr = x + (pl * h + src) * w;
        float *yr = y + r * ow;
#if GK_X86
        if (avx2)
            nearest_rows_avx2(xr, yr, k, w, ow, iw, dup2, add0);
        else
#endif
            nearest_rows_generic(xr, yr, k, w, ow, iw, dup2, add0);
        (void)avx2;
        r += k;
        oy += k;
        if (oy == oh) {
            oy = 0;
            pl++;
        }
    }
}

/* one output row of a weighted resize: the H taps into tmp (double, w), then the W taps */
static inline __attribute__((always_inline)) void weighted_hpass(const float *xp, long w,
                                                                 long oh, long oy, int th,
                                                                 const int *ih, const double *wh,
                                                                 const unsigned char *outh,
                                                                 double extrap, double *tmp) {
    if (th == 0) {
        const float *xr = xp + oy * w;
        for (long j = 0; j < w; j++) tmp[j] = (double)xr[j];
    } else if (outh && outh[oy]) {
        for (long j = 0; j < w; j++) tmp[j] = extrap;
    } else {
        for (long j = 0; j < w; j++) tmp[j] = 0.0;
        for (int t = 0; t < th; t++) {
            const float *xr = xp + (long)ih[t * oh + oy] * w;
            double wt = wh[t * oh + oy];
            for (long j = 0; j < w; j++) tmp[j] = tmp[j] + (double)xr[j] * wt;
        }
    }
}

static inline __attribute__((always_inline)) void weighted_wpass_tail(
    const double *tmp, long o0, long ow, int tw, const int *iw, const double *ww,
    const unsigned char *outw, double extrap, float *yr) {
    if (tw == 0) {
        for (long o = o0; o < ow; o++) yr[o] = (float)tmp[o];
        return;
    }
    for (long o = o0; o < ow; o++) {
        double acc = 0.0;
        for (int t = 0; t < tw; t++) acc = acc + tmp[iw[t * ow + o]] * ww[t * ow + o];
        yr[o] = outw && outw[o] ? (float)extrap : (float)acc;
    }
}

static void weighted_row_generic(const float *xp, long w, long oh, long ow, long oy, int th,
                                 const int *ih, const double *wh, const unsigned char *outh,
                                 int tw, const int *iw, const double *ww,
                                 const unsigned char *outw, double extrap, double *tmp,
                                 float *yr) {
    weighted_hpass(xp, w, oh, oy, th, ih, wh, outh, extrap, tmp);
    weighted_wpass_tail(tmp, 0, ow, tw, iw, ww, outw, extrap, yr);
}

GK_TARGET_AVX2 static void weighted_row_avx2(const float *xp, long w, long oh, long ow, long oy,
                                             int th, const int *ih, const double *wh,
                                             const unsigned char *outh, int tw, const int *iw,
                                             const double *ww, const unsigned char *outw,
                                             double extrap, double *tmp, float *yr) {
    weighted_hpass(xp, w, oh, oy, th, ih, wh, outh, extrap, tmp);
    long o = 0;
#if GK_X86
    if (tw > 0) {
        const __m256d zero = _mm256_setzero_pd();
        if (tw == 2) { /* linear: two taps, 8 outputs per step (independent gathers) */
            const int *i0 = iw, *i1 = iw + ow;
            const double *w0 = ww, *w1 = ww + ow;
            for (; o + 8 <= ow; o += 8) {
                __m256d a0 = _mm256_i32gather_pd(tmp, _mm_loadu_si128((const __m128i *)(i0 + o)), 8);
                __m256d b0 = _mm256_i32gather_pd(tmp, _mm_loadu_si128((const __m128i *)(i0 + o + 4)), 8);
                __m256d a1 = _mm256_i32gather_pd(tmp, _mm_loadu_si128((const __m128i *)(i1 + o)), 8);
                __m256d b1 = _mm256_i32gather_pd(tmp, _mm_loadu_si128((const __m128i *)(i1 + o + 4)), 8);
                __m256d ra = _mm256_add_pd(zero, _mm256_mul_pd(a0, _mm256_loadu_pd(w0 + o)));
                __m256d rb = _mm256_add_pd(zero, _mm256_mul_pd(b0, _mm256_loadu_pd(w0 + o + 4)));
                ra = _mm256_add_pd(ra, _mm256_mul_pd(a1, _mm256_loadu_pd(w1 + o)));
                rb = _mm256_add_pd(rb, _mm256_mul_pd(b1, _mm256_loadu_pd(w1 + o + 4)));
                _mm_storeu_ps(yr + o, _mm256_cvtpd_ps(ra));
                _mm_storeu_ps(yr + o + 4, _mm256_cvtpd_ps(rb));
            }
        }
        for (; o + 4 <= ow; o += 4) {
            __m256d acc = zero;
            for (int t = 0; t < tw; t++) {
                __m128i idx = _mm_loadu_si128((const __m128i *)(iw + t * ow + o));
                __m256d g = _mm256_i32gather_pd(tmp, idx, 8);
                acc = _mm256_add_pd(acc, _mm256_mul_pd(g, _mm256_loadu_pd(ww + t * ow + o)));
            }
            _mm_storeu_ps(yr + o, _mm256_cvtpd_ps(acc));
        }
        if (outw)
            for (long q = 0; q < o; q++)
                if (outw[q]) yr[q] = (float)extrap;
    }
#endif
    weighted_wpass_tail(tmp, o, ow, tw, iw, ww, outw, extrap, yr);
}

/* Resize planes x (p, h, w) -> y (p, oh, ow). Per axis: t taps (0 = identity, the axis is not
 * resampled), tap-major index table i[t * out + o], weights likewise (NULL for both axes:
 * nearest, one tap) and an optional outside mask (tf_crop_and_resize: extrap there). */
void gk_resize2d(const float *x, long p, long h, long w, float *y, long oh, long ow, int th,
                 const int *ih, const double *wh, const unsigned char *outh, int tw,
                 const int *iw, const double *ww, const unsigned char *outw, double extrap,
                 int threads) {
    long rows = p * oh;
    if (rows <= 0 || ow <= 0) return;
    int nearest = wh == NULL && ww == NULL;
    int add0 = th != 0 || tw != 0;
    int dup2 = 0;
    if (nearest && tw == 1 && ow == 2 * w) {
        dup2 = 1;
        for (long o = 0; o < ow && dup2; o++) dup2 = iw[o] == (int)(o >> 1);
    }
    const int *iwn = tw ? iw : NULL;
    long nt = threads < 1 ? 1 : threads;
    /* a nearest copy moves ~10 floats per ns; below ~1 MB of output a fork costs more */
    if ((double)rows * ow < (nearest ? 262144.0 : 16384.0)) nt = 1;
    if (nt > rows) nt = rows;
    int avx2 = gk_simd_avx2;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        long tid = 0, n_th = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        n_th = omp_get_num_threads();
#endif
        long r0 = rows * tid / n_th, r1 = rows * (tid + 1) / n_th;
        if (nearest) {
            nearest_range(x, h, w, y, oh, ow, r0, r1, th, ih, iwn, dup2, add0, avx2);
        } else {
            double *tmp = (double *)malloc(sizeof(double) * (size_t)(w > 0 ? w : 1));
            for (long r = r0; tmp && r < r1; r++) {
                long pl = r / oh, oy = r - pl * oh;
                const float *xp = x + pl * h * w;
                if (avx2)
                    weighted_row_avx2(xp, w, oh, ow, oy, th, ih, wh, outh, tw, iw, ww, outw,
                                      extrap, tmp, y + r * ow);
                else
                    weighted_row_generic(xp, w, oh, ow, oy, th, ih, wh, outh, tw, iw, ww, outw,
                                         extrap, tmp, y + r * ow);
            }
            free(tmp);
        }
    }
}
