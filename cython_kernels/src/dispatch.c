/* Run-time SIMD selection: the best of AVX-512F, AVX2+FMA and generic that the CPU has, capped by
 * the level the user asks for (GOSSAMER_SIMD / set_simd_level). */
#include "gk.h"

int gk_simd_avx2 = 0;
int gk_simd_avx512 = 0;

int gk_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int gk_cpu_has_avx512f(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return gk_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int gk_set_simd_level(int level) {
    gk_simd_avx512 = level >= 2 && gk_cpu_has_avx512f();
    gk_simd_avx2 = level >= 1 && gk_cpu_has_avx2_fma();
    return gk_simd_level();
}

int gk_simd_level(void) { return gk_simd_avx512 ? 2 : gk_simd_avx2 ? 1 : 0; }
