# Wrapper of src/bf16_nchwc.h: the blocked-layout (NCHW8c) 1x1 conv on AMX tiles.

cdef extern from "src/bf16_nchwc.h" nogil:
    int gk_bf16_nchwc_conv1x1(const float *x, long n, long c, long hw, const uint32_t *wpk,
                              long m, const float *bias, const float *z, float lo, float hi,
                              float *y, int threads)


def bf16_nchwc_conv1x1(const float[::1] x, long n, long c, long hw, const uint32_t[::1] wpk,
                       long m, const float[::1] bias, const float[::1] z, float lo, float hi,
                       float[::1] y, int threads):
    """y (n, m/8, hw, 8) = clip(x (n, c/8, hw, 8) @ W^T + bias + z, lo, hi) on the AMX tiles;
    wpk = bf16_pack_b of W^T (c x m); bias (m) and z (y's layout) may be None. False (y not
    written) where the AMX tiles are not in use."""
    cdef int rc
    _blocks("bf16_nchwc_conv1x1", "input channel count", c)
    _blocks("bf16_nchwc_conv1x1", "output channel count", m)
    if n < 0 or hw < 0:
        raise ValueError("bf16_nchwc_conv1x1: negative size")
    _vec("bf16_nchwc_conv1x1", "x", x, n * c * hw, False)
    _pairs("bf16_nchwc_conv1x1", "wpk", wpk, gk_bf16_packed_b_size(c, m))
    _vec("bf16_nchwc_conv1x1", "bias", bias, m, True)
    _vec("bf16_nchwc_conv1x1", "z", z, n * m * hw, True)
    _vec("bf16_nchwc_conv1x1", "y", y, n * m * hw, False)
    if n * hw == 0:
        return True
    with nogil:
        rc = gk_bf16_nchwc_conv1x1(ptr(x), n, c, hw, &wpk[0], m, optr(bias), optr(z), lo, hi,
                                   &y[0], threads)
    return _direct_done("bf16_nchwc_conv1x1", rc)
