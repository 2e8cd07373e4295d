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
