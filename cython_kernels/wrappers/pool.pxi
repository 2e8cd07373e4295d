# Wrappers of src/pool.h: 2-D max / average pooling and the global average.

cdef extern from "src/pool.h" nogil:
    void gk_pool2d(int is_max, const float *x, long nc, long h, long w, long kh, long kw,
                   long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                   const float *cnt_y, const float *cnt_x, float *y, int threads)
    void gk_global_avg(const float *x, long nc, long hw, float *y, int threads)


def pool2d(bint is_max, const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh,
           long dw, long ph, long pw, const float[::1] cnt_y, const float[::1] cnt_x,
           float[:, :, ::1] y, int threads):
    """y[p] = max or average pool of plane x[p] (average divides by cnt_y[oy] * cnt_x[ox]), by the
    polyphase kernel where the SIMD level has it, else by row passes."""
    _pool_check("pool2d", is_max, x, kh, kw, sh, sw, dh, dw, cnt_y, cnt_x, y)
    _pads("pool2d", ph, pw)
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0:
        return
    with nogil:
        gk_pool2d(is_max, &x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw, dh,
                  dw, ph, pw, y.shape[1], y.shape[2],
                  ptr(cnt_y) if cnt_y is not None else NULL,
                  ptr(cnt_x) if cnt_x is not None else NULL, &y[0, 0, 0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_pool2d, "pool2d", (x, cnt_y, cnt_x, y))
        c.c.p[0], c.c.p[3] = <void *>&x[0, 0, 0], <void *>&y[0, 0, 0]
        c.c.p[1] = <void *>(ptr(cnt_y) if cnt_y is not None else NULL)
        c.c.p[2] = <void *>(ptr(cnt_x) if cnt_x is not None else NULL)
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = is_max, x.shape[0], x.shape[1], x.shape[2]
        c.c.i[4], c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8], c.c.i[9] = kh, kw, sh, sw, dh, dw
        c.c.i[10], c.c.i[11], c.c.i[12], c.c.i[13] = ph, pw, y.shape[1], y.shape[2]
        c.c.i[14] = threads


cdef int _run_pool2d(const gk_call *c) noexcept nogil:
    gk_pool2d(<int>c.i[0], <const float *>c.p[0], c.i[1], c.i[2], c.i[3], c.i[4], c.i[5], c.i[6],
              c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12], c.i[13],
              <const float *>c.p[1], <const float *>c.p[2], <float *>c.p[3], <int>c.i[14])
    return 0


cdef int _pool_check(str name, bint is_max, const float[:, :, ::1] x, long kh, long kw, long sh,
                     long sw, long dh, long dw, const float[::1] cnt_y, const float[::1] cnt_x,
                     const float[:, :, ::1] y) except -1:
    """Planes of x and y agree; an average pool has its divisor tables."""
    _geometry(name, kh, kw, sh, sw, dh, dw)
    if x is None or y is None or y.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: x and y differ in planes")
    if not is_max and y.shape[0] and y.shape[1] and y.shape[2]:
        _vec(name, "cnt_y", cnt_y, y.shape[1], False)
        _vec(name, "cnt_x", cnt_x, y.shape[2], False)
    return 0


def global_avg(const float[:, ::1] x, float[::1] y, int threads):
    if x is None or y is None or y.shape[0] < x.shape[0]:
        raise ValueError("global_avg: y has fewer floats than x has rows")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_global_avg(&x[0, 0], x.shape[0], x.shape[1], &y[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_global_avg, "global_avg", (x, y))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0], <void *>&y[0]
        c.c.i[0], c.c.i[1], c.c.i[2] = x.shape[0], x.shape[1], threads


cdef int _run_global_avg(const gk_call *c) noexcept nogil:
    gk_global_avg(<const float *>c.p[0], c.i[0], c.i[1], <float *>c.p[1], <int>c.i[2])
    return 0
