/* layout kernels (declared in gkx.h-style prototypes inside layout.pxi). */
#include "gk.h"
