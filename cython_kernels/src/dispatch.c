/* Run-time SIMD selection (see dispatch.h): the best of AVX-512F, AVX2+FMA and generic that the
 * CPU has, capped by the level the user asks for (GOSSAMER_SIMD / set_simd_level). */
#include "dispatch.h"

#include "isa.h"

/* every family's table at every level (levels/<level>.c) */
#define GK_FAMILY_TABLES(T) extern const T T##_generic, T##_avx2, T##_avx512;
GK_FAMILY_TABLES(gk_gemm_kernels)
GK_FAMILY_TABLES(gk_conv_kernels)
GK_FAMILY_TABLES(gk_pool_kernels)
GK_FAMILY_TABLES(gk_elementwise_kernels)
GK_FAMILY_TABLES(gk_normalize_kernels)
GK_FAMILY_TABLES(gk_winograd_kernels)
GK_FAMILY_TABLES(gk_rnn_kernels)
GK_FAMILY_TABLES(gk_layout_kernels)
GK_FAMILY_TABLES(gk_upsample_kernels)
GK_FAMILY_TABLES(gk_qgemm_kernels)
GK_FAMILY_TABLES(gk_qconv_kernels)
GK_FAMILY_TABLES(gk_qelementwise_kernels)
GK_FAMILY_TABLES(gk_nchwc_kernels)
GK_FAMILY_TABLES(gk_gemm_direct_kernels)
GK_FAMILY_TABLES(gk_conv1x1_kernels)
GK_FAMILY_TABLES(gk_gemm_i8w_kernels)
GK_FAMILY_TABLES(gk_attention_kernels)
#undef GK_FAMILY_TABLES

#define GK_LEVEL_TABLE(SFX)                                                                     \
    {&gk_gemm_kernels_##SFX,        &gk_conv_kernels_##SFX,    &gk_pool_kernels_##SFX,         \
     &gk_elementwise_kernels_##SFX, &gk_normalize_kernels_##SFX, &gk_winograd_kernels_##SFX,   \
     &gk_rnn_kernels_##SFX,         &gk_layout_kernels_##SFX,  &gk_upsample_kernels_##SFX,    \
     &gk_qgemm_kernels_##SFX,       &gk_qconv_kernels_##SFX,   &gk_qelementwise_kernels_##SFX, \
     &gk_nchwc_kernels_##SFX, &gk_gemm_direct_kernels_##SFX, &gk_conv1x1_kernels_##SFX,  \
     &gk_gemm_i8w_kernels_##SFX,    &gk_attention_kernels_##SFX}

static const gk_kernel_table level_tables[] = {
    GK_LEVEL_TABLE(generic),
#if GK_X86
    GK_LEVEL_TABLE(avx2),
    GK_LEVEL_TABLE(avx512),
#endif
};

gk_kernel_table gk_k = GK_LEVEL_TABLE(generic);
static int current_level = 0;

int gk_cpu_has_avx2_fma(void) {
#if GK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int gk_cpu_has_avx512f(void) {
#if GK_X86
    __builtin_cpu_init();
    return gk_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int gk_set_simd_level(int level) {
    int best = gk_cpu_has_avx512f() ? 2 : gk_cpu_has_avx2_fma() ? 1 : 0;
    current_level = level < 0 ? 0 : level > best ? best : level;
    gk_k = level_tables[current_level];
    return current_level;
}

int gk_simd_level(void) { return current_level; }
