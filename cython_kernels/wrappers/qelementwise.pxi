# Wrappers of src/qelementwise.h: QLinearAdd / QLinearMul runs and the int8 row mean (global
# average pool). 8-bit arrays come in as uint8 views with a type code (Q_U8 / Q_S8).

cdef extern from "src/qelementwise.h" nogil:
    ctypedef struct gk_qbinary_params:
        int type
        float ra, rb, fixed
        int za, zb
        float lo, hi
    void gk_qbinary(int op, long n, const void *a, const void *b, long b_step,
                    const gk_qbinary_params *p, void *y, long plane, int threads)
    void gk_qminmax(long n, const float *x, float *lo, float *hi, int *nan, int threads)
    void gk_qquantize(long n, const float *x, float scale, float zp, int type, void *y,
                      long plane, int threads)
    void gk_qdequantize(long n, const void *x, int type, int zp, float scale, float *y,
                        long plane, int threads)
    void gk_qrow_mean(long rows, long len, const void *x, int type, int zx, float m, float zy,
                      float lo, float hi, void *y, int threads)
    long gk_qew_px_min
    long gk_qew_plane_min
    int gk_qbinary_fast_on
    int gk_qmaxpool(const void *x, int type, long planes, long h, long w, long kh, long kw,
                    long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                    void *y, int threads)


def qew_px_min(long n=-1):
    """The element count from which the int8 element-wise ops split every plane's pixels between
    the threads under qsplit_mode 3 (src/qelementwise.h; for A/B runs and tests); -1 only reads
    it. Returns the value now in force."""
    global gk_qew_px_min
    if n < -1:
        raise ValueError(f"qew_px_min: {n} < 0")
    if n >= 0:
        gk_qew_px_min = n
    return gk_qew_px_min


def qew_plane_min(long n=-1):
    """The plane size (pixels) from which the int8 element-wise ops split every plane's pixels
    between the threads (with qew_px_min; smaller planes take flat runs); -1 only reads it.
    Returns the value now in force."""
    global gk_qew_plane_min
    if n < -1:
        raise ValueError(f"qew_plane_min: {n} < 0")
    if n >= 0:
        gk_qew_plane_min = n
    return gk_qew_plane_min


def qbinary_fast(int on=-1):
    """Whether QLinearAdd / QLinearMul take the conversion-and-packs kernels where their values
    stay finite and within +-2^30 (src/qelementwise.h; 0: always the general kernels, for tests
    and A/B runs); -1 only reads it. Returns the value now in force."""
    global gk_qbinary_fast_on
    if on >= 0:
        gk_qbinary_fast_on = 1 if on else 0
    return gk_qbinary_fast_on


def qbinary(int op, const unsigned char[::1] a, const unsigned char[::1] b, int type, float ra,
            float rb, float fixed, int za, int zb, unsigned char[::1] y, int threads,
            long plane=0):
    """y = QLinearAdd (op 0) or QLinearMul (op 1) of a and b (b of a's length, or one value),
    parameters as src/qelementwise.h describes them; plane: pixels per plane of an NCHW a (H * W)
    for the threads' pixel split, 0 flat runs."""
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
                   plane, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_qbinary, "qbinary", (a, b, y))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&a[0], <void *>&b[0], <void *>&y[0]
        call.c.i[0], call.c.i[1], call.c.i[2] = op, n, 1 if b.shape[0] == n and n > 1 else 0
        call.c.i[3], call.c.i[4], call.c.i[5], call.c.i[6] = type, za, zb, threads
        call.c.f[0], call.c.f[1], call.c.f[2] = ra, rb, fixed
        call.c.i[7] = plane


cdef int _run_qbinary(const gk_call *c) noexcept nogil:
    cdef gk_qbinary_params p
    p.type, p.ra, p.rb, p.fixed = <int>c.i[3], c.f[0], c.f[1], c.f[2]
    p.za, p.zb = <int>c.i[4], <int>c.i[5]
    p.lo, p.hi = (0.0, 255.0) if p.type == 0 else (-128.0, 127.0)  # Q_U8 else Q_S8
    gk_qbinary(<int>c.i[0], c.i[1], <const void *>c.p[0], <const void *>c.p[1], c.i[2], &p,
               c.p[2], c.i[7], <int>c.i[6])
    return 0


def qmaxpool(const unsigned char[:, :, ::1] x, int type, long kh, long kw, long sh, long sw,
             long dh, long dw, long ph, long pw, unsigned char[:, :, ::1] y, int threads):
    """MaxPool of 8-bit planes x (planes, H, W; type Q_U8 / Q_S8, as uint8 views) into y (planes,
    OH, OW): each output the maximum of its window's taps inside the plane (the type's lowest
    value where none is)."""
    cdef long planes = x.shape[0], h = x.shape[1], w = x.shape[2], oh = y.shape[1], ow = y.shape[2]
    _qtype(type)
    if y.shape[0] != planes:
        raise ValueError(f"qmaxpool: y has {y.shape[0]} planes, x {planes}")
    _qgeometry("qmaxpool", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    if planes == 0 or oh == 0 or ow == 0:
        return
    if h == 0 or w == 0:
        raise ValueError("qmaxpool: an empty plane")
    cdef int ok
    with nogil:
        ok = gk_qmaxpool(&x[0, 0, 0], type, planes, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                         &y[0, 0, 0], threads)
    if not ok:
        raise MemoryError("qmaxpool: no memory for a row buffer")
    cdef Call call
    if _tracing():
        call = _record(_run_qmaxpool, "qmaxpool", (x, y))
        call.c.p[0], call.c.p[1] = <void *>&x[0, 0, 0], <void *>&y[0, 0, 0]
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = type, planes, h, w
        call.c.i[4], call.c.i[5], call.c.i[6], call.c.i[7] = kh, kw, sh, sw
        call.c.i[8], call.c.i[9], call.c.i[10], call.c.i[11] = dh, dw, ph, pw
        call.c.i[12], call.c.i[13], call.c.i[14] = oh, ow, threads


cdef int _run_qmaxpool(const gk_call *c) noexcept nogil:
    return not gk_qmaxpool(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3], c.i[4],
                           c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12],
                           c.i[13], c.p[1], <int>c.i[14])


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
    cdef Call call
    if _tracing():
        call = _record(_run_qrow_mean, "qrow_mean", (x, y))
        call.c.p[0] = <void *>(&x[0, 0] if length else NULL)
        call.c.p[1] = <void *>&y[0]
        call.c.i[0], call.c.i[1], call.c.i[2] = rows, length, type
        call.c.i[3], call.c.i[4] = zx, threads
        call.c.f[0], call.c.f[1], call.c.f[2], call.c.f[3] = m, zy, lo, hi


cdef int _run_qrow_mean(const gk_call *c) noexcept nogil:
    gk_qrow_mean(c.i[0], c.i[1], <const void *>c.p[0], <int>c.i[2], <int>c.i[3], c.f[0], c.f[1],
                 c.f[2], c.f[3], c.p[1], <int>c.i[4])
    return 0


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
              int threads, long plane=0):
    """y = saturate(rint(x / scale) + zp) in type (float32 division, NaN -> 0); y a uint8 view;
    plane as qbinary's."""
    _qtype(type)
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"qquantize: y has {y.shape[0]} values, needs {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_qquantize(x.shape[0], &x[0], scale, zp, type, &y[0], plane, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_qquantize, "qquantize", (x, y))
        call.c.p[0], call.c.p[1] = <void *>&x[0], <void *>&y[0]
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = x.shape[0], type, threads, plane
        call.c.f[0], call.c.f[1] = scale, zp


cdef int _run_qquantize(const gk_call *c) noexcept nogil:
    gk_qquantize(c.i[0], <const float *>c.p[0], c.f[0], c.f[1], <int>c.i[1], c.p[1], c.i[3],
                 <int>c.i[2])
    return 0


def qdequantize(const unsigned char[::1] x, int type, int zp, float scale, float[::1] y,
                int threads, long plane=0):
    """y = float32(x - zp) * scale; x a uint8 view of u8/s8 data; plane as qbinary's."""
    _qtype(type)
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"qdequantize: y has {y.shape[0]} values, needs {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_qdequantize(x.shape[0], &x[0], type, zp, scale, &y[0], plane, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_qdequantize, "qdequantize", (x, y))
        call.c.p[0], call.c.p[1] = <void *>&x[0], <void *>&y[0]
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = x.shape[0], type, zp, threads
        call.c.f[0] = scale
        call.c.i[4] = plane


cdef int _run_qdequantize(const gk_call *c) noexcept nogil:
    gk_qdequantize(c.i[0], <const void *>c.p[0], <int>c.i[1], <int>c.i[2], c.f[0],
                   <float *>c.p[1], c.i[4], <int>c.i[3])
    return 0
