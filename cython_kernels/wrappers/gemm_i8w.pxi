# Wrappers of src/gemm_i8w.h: int8 weights (codes and a scale per column) packed, and the GEMM
# that widens them (the bits of the float32 weight's gemm_a).

cdef extern from "src/gemm_i8w.h" nogil:
    size_t gk_packed_b_i8w_size(long k, long n)
    void gk_pack_b_i8w(long k, long n, const signed char *q, long s_k, long s_n,
                       const float *scale, signed char *out)
    void gk_gemm_i8w(long m, long n, long k, const float *a, long s_m, long s_k,
                     const signed char *qb, float *c, long ldc, const gk_epilogue *ep,
                     int threads)


def packed_b_i8w_size(long k, long n):
    """Bytes of packed int8 B."""
    return gk_packed_b_i8w_size(k, n)


def pack_b_i8w(const signed char[:, :] q, const float[::1] scale, signed char[::1] out):
    """out = the int8 codes q (K x N, any strides) and their column scales (N) in 16-column
    panels."""
    cdef long k = q.shape[0], n = q.shape[1]
    if n == 0 or k == 0:
        return
    if scale is None or scale.shape[0] != n:
        raise ValueError(f"pack_b_i8w: scale needs {n} floats")
    if out is None or <size_t>out.shape[0] < gk_packed_b_i8w_size(k, n):
        raise ValueError(f"pack_b_i8w: out needs {gk_packed_b_i8w_size(k, n)} bytes")
    with nogil:
        gk_pack_b_i8w(k, n, &q[0, 0], q.strides[0], q.strides[1], &scale[0], &out[0])


def gemm_a_i8w(const float[:, :] a, const signed char[::1] qb, long n, float[:, ::1] c,
               Epilogue ep, int threads):
    """c = epilogue(A @ B) with A (M x K, any strides) packed inside the same threads and B the
    int8 panels of pack_b_i8w."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or n == 0:
        return
    _need(ep is not None, "gemm_a_i8w: ep is None")
    _need(n > 0, "gemm_a_i8w: negative n")
    if qb is None or <size_t>qb.shape[0] < gk_packed_b_i8w_size(k, n):
        raise ValueError(f"gemm_a_i8w: packed B needs {gk_packed_b_i8w_size(k, n)} bytes")
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"gemm_a_i8w: c is smaller than {m} x {n}")
    ep.check("gemm_a_i8w", m, n, 1, 0)
    with nogil:
        gk_gemm_i8w(m, n, k, &a[0, 0], a.strides[0] // 4, a.strides[1] // 4, &qb[0], &c[0, 0],
                    c.strides[0] // 4, &ep.ep, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_gemm_a_i8w, "gemm_a_i8w", (a, qb, c, ep))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&a[0, 0], <void *>&qb[0], <void *>&c[0, 0]
        _ep_slots(call, ep)
        call.c.i[0], call.c.i[1], call.c.i[2] = m, n, k
        call.c.i[3], call.c.i[4] = a.strides[0] // 4, a.strides[1] // 4
        call.c.i[5], call.c.i[6] = c.strides[0] // 4, threads


cdef int _run_gemm_a_i8w(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e = _ep_of(c)
    gk_gemm_i8w(c.i[0], c.i[1], c.i[2], <const float *>c.p[0], c.i[3], c.i[4],
                <const signed char *>c.p[1], <float *>c.p[2], c.i[5], &e, <int>c.i[6])
    return 0
