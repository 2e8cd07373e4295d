/* Helpers to compile one kernel body for two ISAs (see gk.h). */
#ifndef GK_SIMD_H
#define GK_SIMD_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GK_X86 1
#define GK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define GK_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define GK_X86 0
#define GK_TARGET_AVX2
#define GK_TARGET_AVX512
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gk.h"

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

/* Kernels whose bodies the compiler vectorises well are written once in a *.inc file and included
 * twice: after `#pragma GCC target("avx2,fma")` with GK_SFX(n) = n##_avx2, and for the baseline ISA
 * with GK_SFX(n) = n##_generic. */
#define GK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GK_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
