# Wrapper of src/gemm_direct.h: the GEMM whose B is read in place (gk_conv_gemm's 1x1 and
# stride-1 paths call it from C; this wrapper is for tests and measurements).

cdef extern from "src/gemm_direct.h" nogil:
    int gk_gemm_direct(long m, long n, long k, const float *ap, const float *b, const long *roff,
                       float *c, long ldc, const gk_epilogue *ep, int threads)


def gemm_direct(long m, long n, long k, const float[::1] ap, const float[::1] b,
                const long[::1] roff, float[:, ::1] c, Epilogue ep, int threads):
    """c = epilogue(packed A @ B) with B[kk, j] = b[roff[kk] + j] read in place; False (c
    untouched) where the SIMD level has no such kernel."""
    cdef int done
    cdef long kk
    if m == 0 or n == 0:
        return True
    _need(ep is not None, "gemm_direct: ep is None")
    _need(m > 0 and n > 0 and k >= 0, "gemm_direct: negative size")
    _vec("gemm_direct", "packed A", ap, gk_packed_a_size(m, k), False)
    if roff is None or roff.shape[0] < k:
        raise ValueError(f"gemm_direct: roff needs {k} row offsets")
    for kk in range(k):
        if roff[kk] < 0 or roff[kk] + n > b.shape[0]:
            raise ValueError(f"gemm_direct: row {kk} ({roff[kk]} + {n}) is outside b")
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"gemm_direct: c is smaller than {m} x {n}")
    ep.check("gemm_direct", m, n, 1, 0)
    with nogil:
        done = gk_gemm_direct(m, n, k, ptr(ap), &b[0] if b.shape[0] else NULL,
                              &roff[0] if k else NULL, &c[0, 0], c.strides[0] // 4, &ep.ep,
                              threads)
    return bool(done)
