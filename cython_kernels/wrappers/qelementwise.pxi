# Wrappers of src/qelementwise.h: QLinearAdd / QLinearMul runs and the int8 row mean (global
# average pool). 8-bit arrays come in as uint8 views with a type code (Q_U8 / Q_S8).

cdef extern from "src/qelementwise.h" nogil:
    ctypedef struct gk_qbinary_params:
        int type
        float ra, rb, fixed
        int za, zb
        float lo, hi
    void gk_qbinary(int op, long n, const void *a, const void *b, long b_step,
                    const gk_qbinary_params *p, void *y, int threads)
    void gk_qminmax(long n, const float *x, float *lo, float *hi, int *nan, int threads)
    void gk_qquantize(long n, const float *x, float scale, float zp, int type, void *y,
                      int threads)
    void gk_qdequantize(long n, const void *x, int type, int zp, float scale, float *y,
                        int threads)
    void gk_qrow_mean(long rows, long len, const void *x, int type, int zx, float m, float zy,
                      float lo, float hi, void *y, int threads)


def qbinary(int op, const unsigned char[::1] a, const unsigned char[::1] b, int type, float ra,
            float rb, float fixed, int za, int zb, unsigned char[::1] y, int threads):
    """y = QLinearAdd (op 0) or QLinearMul (op 1) of a and b (b of a's length, or one value),
    parameters as src/qelementwise.h describes them."""
    cdef gk_qbinary_params p
    cdef long n = a.shape[0]
    _qtype(type)
    if op != 0 and op != 1:
        raise ValueError(f"qbinary: unknown op {op}")
    if b.shape[0] != n and b.shape[0] != 1:
        raise ValueError(f"qbinary: b has {b.shape[0]} values, needs 1 or {n}")
    if y.shape[0] < n:
        raise ValueError(f"qbinary: y has {y.shape[0]} values, needs {n}")
    if n == 0:
        return
    p.type, p.ra, p.rb, p.fixed, p.za, p.zb = type, ra, rb, fixed, za, zb
    p.lo, p.hi = (0.0, 255.0) if type == Q_U8 else (-128.0, 127.0)
    with nogil:
        gk_qbinary(op, n, &a[0], &b[0], 1 if b.shape[0] == n and n > 1 else 0, &p, &y[0],
                   threads)


def qrow_mean(const unsigned char[:, ::1] x, int type, int zx, float m, float zy,
              unsigned char[::1] y, int threads):
    """y[r] = saturate(rint(float32(sum(x[r] - zx)) * m) + zy)."""
    cdef long rows = x.shape[0], length = x.shape[1]
    _qtype(type)
    if y.shape[0] < rows:
        raise ValueError(f"qrow_mean: y has {y.shape[0]} values, needs {rows}")
    if rows == 0:
        return
    lo, hi = (0.0, 255.0) if type == Q_U8 else (-128.0, 127.0)
    with nogil:
        gk_qrow_mean(rows, length, &x[0, 0] if length else NULL, type, zx, m, zy, lo, hi, &y[0],
                     threads)


def qminmax(const float[::1] x, int threads):
    """(min, max, has_nan) of x (x non-empty)."""
    cdef float lo, hi
    cdef int nan
    if x.shape[0] == 0:
        raise ValueError("qminmax: empty x")
    with nogil:
        gk_qminmax(x.shape[0], &x[0], &lo, &hi, &nan, threads)
    return lo, hi, bool(nan)


def qquantize(const float[::1] x, float scale, float zp, int type, unsigned char[::1] y,
              int threads):
    """y = saturate(rint(x / scale) + zp) in type (float32 division, NaN -> 0); y a uint8 view."""
    _qtype(type)
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"qquantize: y has {y.shape[0]} values, needs {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_qquantize(x.shape[0], &x[0], scale, zp, type, &y[0], threads)


def qdequantize(const unsigned char[::1] x, int type, int zp, float scale, float[::1] y,
                int threads):
    """y = float32(x - zp) * scale; x a uint8 view of u8/s8 data."""
    _qtype(type)
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"qdequantize: y has {y.shape[0]} values, needs {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_qdequantize(x.shape[0], &x[0], type, zp, scale, &y[0], threads)
