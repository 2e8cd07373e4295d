# Wrapper of src/conv.h gk_conv_gemm: one image group's conv as a GEMM in one call, each thread
# packing the im2col panels it multiplies.

cdef extern from "src/conv.h" nogil:
    void gk_conv_gemm(const float *ap, long m, const float *x, long c, long h, long w, long kh,
                      long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                      long ow, float *bp, float *y, const float *bias, const float *residual,
                      float lo, float hi, int clip, int threads)


def conv_gemm(const float[::1] ap, const float[:, :, ::1] x, long kh, long kw, long sh, long sw,
              long dh, long dw, long ph, long pw, long oh, long ow, float[::1] bp,
              float[:, ::1] y, const float[::1] bias, const float[:, ::1] residual, float lo,
              float hi, bint clip, int threads):
    """y (M x oh*ow) = clip(packed A @ im2col(x) + bias[:, None] + residual, lo, hi): one image
    group x (C, H, W), A packed by pack_a (M x C*kh*kw), bp room for the packed im2col."""
    _geometry("conv_gemm", kh, kw, sh, sw, dh, dw)
    _pads("conv_gemm", ph, pw)
    cdef long m = y.shape[0], c = x.shape[0], n = oh * ow, k = x.shape[0] * kh * kw
    if oh < 0 or ow < 0 or y.shape[1] != n:
        raise ValueError(f"conv_gemm: y has {y.shape[1]} columns for a {oh} x {ow} output")
    if m == 0 or n == 0:
        return
    _vec("conv_gemm", "packed A", ap, gk_packed_a_size(m, k), False)
    _vec("conv_gemm", "bp", bp, gk_packed_b_size(k, n), False)
    _vec("conv_gemm", "bias", bias, m, True)
    if residual is not None and (residual.shape[0] != m or residual.shape[1] != n):
        raise ValueError("conv_gemm: the residual is not shaped as y")
    cdef const float *pres = &residual[0, 0] if residual is not None else NULL
    cdef const float *pbias = ptr(bias) if bias is not None else NULL
    cdef const float *px = &x[0, 0, 0] if c > 0 else NULL
    with nogil:
        gk_conv_gemm(ptr(ap), m, px, c, x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw, ph, pw,
                     oh, ow, &bp[0], &y[0, 0], pbias, pres, lo, hi, clip, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_conv_gemm, "conv_gemm", (ap, x, bp, y, bias, residual))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>ptr(ap), <void *>px, <void *>&bp[0]
        call.c.p[3], call.c.p[4], call.c.p[5] = <void *>&y[0, 0], <void *>pbias, <void *>pres
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = m, c, x.shape[1], x.shape[2]
        call.c.i[4], call.c.i[5], call.c.i[6], call.c.i[7] = kh, kw, sh, sw
        call.c.i[8], call.c.i[9], call.c.i[10], call.c.i[11] = dh, dw, ph, pw
        call.c.i[12], call.c.i[13], call.c.i[14], call.c.i[15] = oh, ow, clip, threads
        call.c.f[0], call.c.f[1] = lo, hi


cdef int _run_conv_gemm(const gk_call *c) noexcept nogil:
    gk_conv_gemm(<const float *>c.p[0], c.i[0], <const float *>c.p[1], c.i[1], c.i[2], c.i[3],
                 c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12],
                 c.i[13], <float *>c.p[2], <float *>c.p[3], <const float *>c.p[4],
                 <const float *>c.p[5], c.f[0], c.f[1], <int>c.i[14], <int>c.i[15])
    return 0
