/* What every kernel source shares: whether this is x86 (where the AVX2 and AVX-512 levels exist),
 * the intrinsics, and small helpers. See dispatch.h for how a SIMD level is chosen. */
#ifndef GK_ISA_H
#define GK_ISA_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GK_X86 1
#else
#define GK_X86 0
#endif

#define GK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define GK_ALWAYS_INLINE static inline __attribute__((always_inline))

/* The in-place loops of the element-wise kernels (y may be x, a or b) have no restrict; each y[i]
 * depends only on element i of its inputs, so there is no loop-carried dependence even when y is
 * an input, and GK_IVDEP tells GCC so (without it GCC versions the loop on an overlap test that an
 * in-place call fails, and runs it scalar: in-place Relu 1.7x slower). Partly overlapping arrays
 * are not allowed. */
#if defined(__GNUC__) && !defined(__clang__)
#define GK_IVDEP _Pragma("GCC ivdep")
#else
#define GK_IVDEP
#endif

#endif
