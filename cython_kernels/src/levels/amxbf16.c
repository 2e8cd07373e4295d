/* The BF16 GEMM's kernels on AMX tiles: tdpbf16ps (x86 only; bf16.c selects them only where the
 * CPU has AVX512_BF16 and gk_amx_bf16() says the tiles may be used, amx.h). See bf16.h and
 * docs/bf16.md for how its arithmetic differs from vdpbf16ps's. Compiles to nothing in a build
 * without the bf16 family (gossamer crop), and to an empty table (tile NULL: never selected) with
 * a compiler that has no AMX intrinsics (GCC before 11, clang before 12). */
#include "../isa.h"
#if GK_X86 && __has_include("../bf16_kernels.inc")
#if (defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && __GNUC__ >= 11)
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx2,fma")
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define GK_LEVEL 2
#define GK_BF16_AMX 1
#define GK_SFX(name) name##_amxbf16
#include "../bf16_kernels.inc"
#else
#include "../bf16.h"
const gk_bf16_kernels gk_bf16_kernels_amxbf16 = {0};
#endif
#endif
