/* The BF16 GEMM's kernels with the instruction itself: AVX512_BF16's vdpbf16ps (x86 only; bf16.c
 * selects them only where the CPU has AVX512_BF16). See bf16.h. Compiles to nothing in a build
 * without the bf16 family (gossamer crop). */
#include "../isa.h"
#if GK_X86 && __has_include("../bf16_kernels.inc")
#pragma GCC target("avx512f,avx512bf16,avx2,fma")
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GK_LEVEL 2
#define GK_BF16_VDP 1
#define GK_SFX(name) name##_avx512bf16
#include "../bf16_kernels.inc"
#endif
