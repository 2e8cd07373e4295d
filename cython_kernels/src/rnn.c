/* rnn kernels (declared in gkx.h-style prototypes inside rnn.pxi). */
#include "gk.h"
