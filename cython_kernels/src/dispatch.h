/* Run-time SIMD dispatch, as MLAS does it: every kernel family's inner kernels are compiled once
 * per SIMD level (levels/generic.c, levels/avx2.c, levels/avx512.c each include every family's
 * *_kernels.inc with GK_LEVEL and GK_SFX set), and each level's copies are gathered in one table
 * per family, `gk_<family>_kernels_<level>`. gk_set_simd_level points gk_k at one level's tables,
 * once at start-up (GOSSAMER_SIMD) or when a test switches levels; the drivers (the *.c file of
 * each family: threads, planning, buffers) call through gk_k and never test the level.
 *
 * Levels: 0 generic (baseline ISA: SSE2 on x86-64, anything elsewhere), 1 AVX2 + FMA, 2 AVX-512F
 * (with 512-bit vectors preferred). A family whose kernel has no version for a level leaves the
 * entry NULL there (the driver then takes its portable path, or the Python op declines) or fills
 * it with the next lower level's code compiled for this level; the family's header says which.
 */
#ifndef GK_DISPATCH_H
#define GK_DISPATCH_H

#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "layout.h"
#include "normalize.h"
#include "pool.h"
#include "qconv.h"
#include "qelementwise.h"
#include "qgemm.h"
#include "rnn.h"
#include "upsample.h"
#include "winograd.h"
#include "nchwc.h"
#include "gemm_direct.h"
#include "conv1x1.h"
#include "gemm_i8w.h"
#include "attention.h"

typedef struct {
    const gk_gemm_kernels *gemm;
    const gk_conv_kernels *conv;
    const gk_pool_kernels *pool;
    const gk_elementwise_kernels *elementwise;
    const gk_normalize_kernels *normalize;
    const gk_winograd_kernels *winograd;
    const gk_rnn_kernels *rnn;
    const gk_layout_kernels *layout;
    const gk_upsample_kernels *upsample;
    const gk_qgemm_kernels *qgemm;
    const gk_qconv_kernels *qconv;
    const gk_qelementwise_kernels *qelementwise;
    const gk_nchwc_kernels *nchwc;
    const gk_gemm_direct_kernels *gemm_direct;
    const gk_conv1x1_kernels *conv1x1;
    const gk_gemm_i8w_kernels *gemm_i8w;
    const gk_attention_kernels *attention;
} gk_kernel_table;

/* the kernels of the level in force (the generic ones until gk_set_simd_level runs) */
extern gk_kernel_table gk_k;

int gk_cpu_has_avx2_fma(void);
int gk_cpu_has_avx512f(void);
/* selects at most `level` (capped by the CPU); returns the level set */
int gk_set_simd_level(int level);
int gk_simd_level(void);

#endif
