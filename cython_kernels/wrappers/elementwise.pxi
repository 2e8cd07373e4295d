# Wrappers of src/elementwise.h: broadcast binary ops, unary ops, per-channel affine.

cdef extern from "src/elementwise.h" nogil:
    void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid,
                   long inner, int bo, int bm, int bi, int swap, int threads)
    void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads)
    void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                           long outer, long c, long inner, int threads)


def binary(int op, const float[::1] a, const float[::1] b, float[::1] y, long outer, long mid,
           long inner, bint bo, bint bm, bint bi, bint swap, int threads):
    """y[o, m, i] = a[o, m, i] (op) b[o if bo, m if bm, i if bi] (b op a if swap)."""
    cdef long total = outer * mid * inner
    if outer < 0 or mid < 0 or inner < 0:
        raise ValueError("binary: negative size")
    if a is None or b is None or y is None:
        raise ValueError("binary: an array is None")
    if y.shape[0] < total or a.shape[0] < total:
        raise ValueError(f"binary: a ({a.shape[0]}) or y ({y.shape[0]}) has fewer than "
                         f"{outer} x {mid} x {inner} floats")
    if total == 0:
        return
    if b.shape[0] < (outer if bo else 1) * (mid if bm else 1) * (inner if bi else 1):
        raise ValueError(f"binary: b has {b.shape[0]} floats, too few for its broadcast")
    with nogil:
        gk_binary(op, &a[0], &b[0], &y[0], outer, mid, inner, bo, bm, bi, swap, threads)
    cdef Call c
    if _tracing():
        c = _record(_run_binary, "binary", (a, b, y))
        c.c.p[0], c.c.p[1], c.c.p[2] = <void *>&a[0], <void *>&b[0], <void *>&y[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = op, outer, mid, inner
        c.c.i[4], c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8] = bo, bm, bi, swap, threads


cdef int _run_binary(const gk_call *c) noexcept nogil:
    gk_binary(<int>c.i[0], <const float *>c.p[0], <const float *>c.p[1], <float *>c.p[2], c.i[1],
              c.i[2], c.i[3], <int>c.i[4], <int>c.i[5], <int>c.i[6], <int>c.i[7], <int>c.i[8])
    return 0


def unary(int op, const float[::1] x, float[::1] y, float lo, float hi, int threads):
    if x is None or y is None:
        raise ValueError("unary: an array is None")
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"unary: y has {y.shape[0]} floats, x {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_unary(op, &x[0], &y[0], x.shape[0], lo, hi, threads)
    cdef Call c
    if _tracing():
        c = _record(_run_unary, "unary", (x, y))
        c.c.p[0], c.c.p[1] = <void *>&x[0], <void *>&y[0]
        c.c.i[0], c.c.i[1], c.c.i[2] = op, x.shape[0], threads
        c.c.f[0], c.c.f[1] = lo, hi


cdef int _run_unary(const gk_call *c) noexcept nogil:
    gk_unary(<int>c.i[0], <const float *>c.p[0], <float *>c.p[1], c.i[1], c.f[0], c.f[1],
             <int>c.i[2])
    return 0


def channel_affine(const float[::1] x, const float[::1] scale, const float[::1] shift,
                   float[::1] y, long outer, long c, long inner, int threads):
    cdef long total = outer * c * inner
    if outer < 0 or c < 0 or inner < 0:
        raise ValueError("channel_affine: negative size")
    if x is None or y is None or x.shape[0] < total or y.shape[0] < total:
        raise ValueError(f"channel_affine: x or y has fewer than {outer} x {c} x {inner} floats")
    if total == 0:
        return
    _vec("channel_affine", "scale", scale, c, False)
    _vec("channel_affine", "shift", shift, c, False)
    with nogil:
        gk_channel_affine(&x[0], &scale[0], &shift[0], &y[0], outer, c, inner, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_channel_affine, "channel_affine", (x, scale, shift, y))
        call.c.p[0], call.c.p[1] = <void *>&x[0], <void *>&scale[0]
        call.c.p[2], call.c.p[3] = <void *>&shift[0], <void *>&y[0]
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = outer, c, inner, threads


cdef int _run_channel_affine(const gk_call *c) noexcept nogil:
    gk_channel_affine(<const float *>c.p[0], <const float *>c.p[1], <const float *>c.p[2],
                      <float *>c.p[3], c.i[0], c.i[1], c.i[2], <int>c.i[3])
    return 0
