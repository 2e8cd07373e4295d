/* spatial kernels (declared in gkx.h-style prototypes inside spatial.pxi). */
#include "gk.h"
