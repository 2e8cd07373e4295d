/* The kernels of every family for SIMD level 2: AVX-512F (with AVX2 + FMA), 512-bit vectors
 * preferred where the compiler vectorises (x86 only). See dispatch.h. */
#include "../isa.h"
#if GK_X86
#pragma GCC target("avx512f,avx2,fma,prefer-vector-width=512")
#include <stdlib.h>
#include <string.h>

#define GK_LEVEL 2
#define GK_SFX(name) name##_avx512
#include "all_kernels.inc"
#endif
