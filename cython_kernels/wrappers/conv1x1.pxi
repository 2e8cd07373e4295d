# Wrapper of src/conv1x1.h: the direct 1x1 conv (gk_conv_gemm's 1x1 unpadded stride-1 path calls
# it from C; these are its switch and rule, for tests and measurements).

cdef extern from "src/conv1x1.h" nogil:
    int gk_conv1x1_on
    int gk_conv1x1_takes(long m, long n, long k)


def conv1x1_on(int on=-1):
    """Which 1x1 unpadded stride-1 convs conv_gemm runs on the direct 1x1 kernel (src/conv1x1.h:
    the input planes read in place through an L1 stage): 0 none (the unpacked-B / packed paths as
    before), 1 those its rule picks, 2 every one where the SIMD level has the kernel; -1 only
    asks. Returns the previous setting."""
    global gk_conv1x1_on
    cdef int old = gk_conv1x1_on
    if on >= 0:
        gk_conv1x1_on = on
    return old


def conv1x1_takes(long m, long n, long k):
    """Whether conv_gemm would run an m-output-channel 1x1 conv of k input channels over n
    pixels on the direct 1x1 kernel (the switch and rule in force, the SIMD level's kernel)."""
    return bool(gk_conv1x1_takes(m, n, k))
