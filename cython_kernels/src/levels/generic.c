/* The kernels of every family for SIMD level 0: the baseline ISA the extension is built for
 * (SSE2 on x86-64; anything elsewhere). See dispatch.h. */
#include <stdlib.h>
#include <string.h>

#define GK_LEVEL 0
#define GK_SFX(name) name##_generic
#include "all_kernels.inc"
