/* Run-time SIMD selection: AVX2+FMA when the CPU has both (and the user did not force generic). */
#include "gk.h"

int gk_simd_avx2 = 0;

int gk_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void gk_set_simd(int avx2) { gk_simd_avx2 = avx2 && gk_cpu_has_avx2_fma(); }
