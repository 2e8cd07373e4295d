/* upsample kernels: ConvTranspose (GEMM + col2im) and Resize. */
#include "gk.h"
