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


def unary(int op, const float[::1] x, float[::1] y, float lo, float hi, int threads):
    if x is None or y is None:
        raise ValueError("unary: an array is None")
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"unary: y has {y.shape[0]} floats, x {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_unary(op, &x[0], &y[0], x.shape[0], lo, hi, threads)


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
