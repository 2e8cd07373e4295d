/* The kernels of every family for SIMD level 1: AVX2 + FMA (x86 only). See dispatch.h. */
#include "../isa.h"
#if GK_X86
#pragma GCC target("avx2,fma")
#include <stdlib.h>
#include <string.h>

#define GK_LEVEL 1
#define GK_SFX(name) name##_avx2
#include "all_kernels.inc"
#endif
