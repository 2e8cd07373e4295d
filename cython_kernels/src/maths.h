/* Scalar maths the kernels share, written branch-free with plain arithmetic so that the loops
 * calling them vectorise (each SIMD level's copy of a kernel compiles its own copy of these).
 * float32: exp, sigmoid, hard sigmoid, GELU (erf form), tanh, as the GEMM epilogue and the
 * element-wise kernels use them; float64: exp, tanh and erf/erfc for the element-wise ops that
 * the reference computes in double and rounds once. */
#ifndef GK_MATHS_H
#define GK_MATHS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) for float32, Cephes-style: 2^n * p(r) with |r| <= ln2/2, about 1 ulp; plain arithmetic
 * so the compiler vectorises it (GEMM epilogues and element-wise kernels share it). NaN
 * propagates; x > 88.72 gives inf, x < -87.34 gives 0 (between 88.37 and 88.72 it returns
 * exp(88.37): the exponent trick stops at 2^127). */
static inline float gk_expf(float x) {
    /* written so that a NaN x selects the clamp (a finite xc): (int32_t)n below must not see a
     * NaN (the conversion and the shift would be undefined); the result is still NaN (last line) */
    float xc = x > -87.33654f ? x : -87.33654f;
    xc = xc < 88.37f ? xc : 88.37f;
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale;
    e = x > 88.72283f ? INFINITY : e;
    e = x < -87.33654f ? 0.0f : e;
    return x != x ? x : e;
}

static inline float gk_sigmoidf(float x) { return 1.0f / (1.0f + gk_expf(-x)); }

static inline float gk_hardsigmoidf(float x, float alpha, float beta) {
    float v = alpha * x + beta;
    v = v < 0.0f ? 0.0f : v;
    return v > 1.0f ? 1.0f : v; /* NaN stays NaN */
}

/* x * clamp((x + 3) / 6, 0, 1), the sum first: x + 3 is exact near x = -3, where x/6 + 1/2
 * would cancel (~1 ulp relative error everywhere; the GEMM epilogue and the unfused HardSwish
 * both use it, so fused and unfused agree bit for bit) */
static inline float gk_hardswishf(float x) {
    float g = (x + 3.0f) * (1.0f / 6.0f);
    g = g < 0.0f ? 0.0f : g;
    return x * (g > 1.0f ? 1.0f : g); /* NaN stays NaN */
}

/* x/2 (1 + erf(x/sqrt 2)). erf: odd polynomial for |a| <= 0.9277, else erf(|a|) = 1 - exp(q(|a|))
 * (both about 1 ulp); for x < 0 the factor 1 + erf(a) = exp(q) is used directly (no
 * cancellation). Accuracy: absolute error <= ~2.5e-7 everywhere; relative error a few ulp for
 * x > -2.8, growing in the negative tail (e.g. ~1e3 ulp at x = -4, where gelu(x) ~ -1e-4 and
 * exp(q)'s relative error grows with |q|); transcendental conformance tolerance holds. */
static inline float gk_geluf(float x) {
    float a = x * 0.70710678118654752f;
    float t = fabsf(a), s = a * a;
    float p = -5.96761703e-4f;
    p = p * s + 4.99119423e-3f;
    p = p * s - 2.67681349e-2f;
    p = p * s + 1.12819925e-1f;
    p = p * s - 3.76125336e-1f;
    p = p * s + 1.28379166e-1f;
    float erf_small = p * a + a;
    float q = -1.72853470e-5f * t + 3.83197126e-4f;
    float u = -3.88396438e-3f * t + 2.42546219e-2f;
    q = q * s + u;
    q = q * t - 1.06777877e-1f;
    q = q * t - 6.34846687e-1f;
    q = q * t - 1.28717512e-1f;
    q = q * t - t;
    float ec = gk_expf(q); /* erfc(|a|) */
    float onep = t > 0.927734375f ? (x < 0.0f ? ec : 2.0f - ec) : 1.0f + erf_small;
    return 0.5f * x * onep;
}

static inline float gk_tanhf(float x) {
    float t = fabsf(x), s = x * x;
    float e = gk_expf(-2.0f * t);
    float big = (1.0f - e) / (1.0f + e);
    big = x < 0.0f ? -big : big;
    float p = 62.0f / 2835.0f;
    p = p * s - 17.0f / 315.0f;
    p = p * s + 2.0f / 15.0f;
    p = p * s - 1.0f / 3.0f;
    float small = x + x * s * p;
    return t < 0.3f ? small : big; /* NaN: big is NaN */
}

/* exp(t) in double for |t| <= 700 (clamped): 2^n * Taylor(r) with |r| <= ln2/2, ~1e-15
 * relative. n is extracted with the 1.5 * 2^52 trick so the loop vectorises without an AVX-512
 * double -> int64 conversion. */
static inline double gk_exp_d(double t) {
    t = t < -700.0 ? -700.0 : t;
    t = t > 700.0 ? 700.0 : t;
    double k = t * 1.4426950408889634074 + 6755399441055744.0;
    double nf = k - 6755399441055744.0;
    double r = t - nf * 0.693145751953125 - nf * 1.42860682030941723212e-6;
    double p = 2.5052108385441718775e-8;
    p = p * r + 2.7557319223985890653e-7;
    p = p * r + 2.7557319223985890653e-6;
    p = p * r + 2.4801587301587301587e-5;
    p = p * r + 1.9841269841269841270e-4;
    p = p * r + 1.3888888888888888889e-3;
    p = p * r + 8.3333333333333333333e-3;
    p = p * r + 4.1666666666666666667e-2;
    p = p * r + 1.6666666666666666667e-1;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t kb;
    memcpy(&kb, &k, sizeof kb);
    int64_t bits = (int64_t)((uint64_t)(kb + 1023) << 52);
    double s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

/* tanh in double: (e - 1) / (e + 1) with e = exp(2|x|), a series near 0; sign restored. */
static inline double gk_tanh_d(double x) {
    double a = fabs(x);
    a = a > 20.0 ? 20.0 : a;
    double e = gk_exp_d(2.0 * a);
    double big = (e - 1.0) / (e + 1.0), a2 = a * a;
    double small = a * (1.0 - a2 * (1.0 / 3.0 - a2 * (2.0 / 15.0)));
    double t = a < 1e-3 ? small : big;
    t = x != x ? x : t;
    return copysign(t, x);
}

/* erf(y) and erfc(y) for y >= 0 (NaN propagates), Cody's rational approximations (the
 * reference's _erf coefficients) in double, all three ranges computed and selected so the
 * loop vectorises. */
static inline double gk_horner(const double *c, int n, double t) {
    double s = c[0];
    for (int i = 1; i < n; i++) s = s * t + c[i];
    return s;
}
static const double GK_P1[5] = {1.85777706184603153e-1, 3.16112374387056560e00,
                                1.13864154151050156e02, 3.77485237685302021e02,
                                3.20937758913846947e03};
static const double GK_Q1[5] = {1.0, 2.36012909523441209e01, 2.44024637934444173e02,
                                1.28261652607737228e03, 2.84423683343917062e03};
static const double GK_P2[9] = {2.15311535474403846e-8, 5.64188496988670089e-1,
                                8.88314979438837594e00, 6.61191906371416295e01,
                                2.98635138197400131e02, 8.81952221241769090e02,
                                1.71204761263407058e03, 2.05107837782607147e03,
                                1.23033935479799725e03};
static const double GK_Q2[9] = {1.0, 1.57449261107098347e01, 1.17693950891312499e02,
                                5.37181101862009858e02, 1.62138957456669019e03,
                                3.29079923573345963e03, 4.36261909014324716e03,
                                3.43936767414372164e03, 1.23033935480374942e03};
static const double GK_P3[6] = {1.63153871373020978e-2, 3.05326634961232344e-1,
                                3.60344899949804439e-1, 1.25781726111229246e-1,
                                1.60837851487422766e-2, 6.58749161529837803e-4};
static const double GK_Q3[6] = {1.0, 2.56852019228982242e00, 1.87295284992346047e00,
                                5.27905102951428412e-1, 6.05183413124413191e-2,
                                2.33520497626869185e-3};
static inline void gk_erf_pair(double y, double *erf_out, double *erfc_out) {
    double y2 = y * y;
    double small = y * gk_horner(GK_P1, 5, y2) / gk_horner(GK_Q1, 5, y2);
    double ey = gk_exp_d(-(y2 < 700.0 ? y2 : 700.0));
    double mid = ey * gk_horner(GK_P2, 9, y) / gk_horner(GK_Q2, 9, y);
    double yl = y > 4.0 ? y : 4.0, z = 1.0 / (yl * yl);
    double large = ey / yl * (0.56418958354775628695 - z * gk_horner(GK_P3, 6, z) /
                                                           gk_horner(GK_Q3, 6, z));
    double erfc = y <= 4.0 ? mid : large;
    erfc = y <= 0.46875 ? 1.0 - small : erfc;
    double erf = y <= 0.46875 ? small : 1.0 - erfc;
    *erf_out = y != y ? y : erf;
    *erfc_out = y != y ? y : erfc;
}

#endif
