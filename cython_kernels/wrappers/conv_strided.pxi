# Wrapper of src/conv_strided.h: the switch of conv_gemm's path for strided 1x1 convs (the plain
# 1x1 conv of the sampled input), for tests and measurements.

cdef extern from "src/conv_strided.h" nogil:
    int gk_conv_strided_on


def conv_strided_on(int on=-1):
    """Turns conv_gemm's path for strided (or padded) 1x1 convs on (1: the input sampled into a
    plane, then the plain 1x1 conv) or off (0: the strided im2col packed as before); -1 only
    asks. Returns the previous setting."""
    global gk_conv_strided_on
    cdef int old = gk_conv_strided_on
    if on >= 0:
        gk_conv_strided_on = on
    return bool(old)
