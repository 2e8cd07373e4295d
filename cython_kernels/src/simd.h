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

#include "gk.h"

/* Kernels whose bodies the compiler vectorises well are written once in a *.inc file and included
 * twice: after `#pragma GCC target("avx2,fma")` with GK_SFX(n) = n##_avx2, and for the baseline ISA
 * with GK_SFX(n) = n##_generic. */
#define GK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GK_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
