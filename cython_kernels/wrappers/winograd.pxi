# Wrappers of src/winograd.h: Winograd F(4x4, 3x3) / F(2x2, 3x3) convolution.

cdef extern from "src/winograd.h" nogil:
    size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads)
    void gk_winograd_weights(const float *w, long m, long c, long a, const double *g, float *u,
                             int threads)
    void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph,
                          long pw, long oh, long ow, const float *u, long m, const float *bias,
                          float lo, float hi, int clip, float *y, float *work, long chunk,
                          int threads, const float *res)


def winograd_weights(const float[:, :, :, ::1] w, const double[:, ::1] g, float[:, :, ::1] u,
                     int threads):
    """u[a*a, m, c] = G w G^T per (m, c) for 3x3 weights w (m, c, 3, 3); g is a x 3 (a = 4, 6)."""
    cdef long m = w.shape[0], c = w.shape[1], a = g.shape[0]
    if w.shape[2] != 3 or w.shape[3] != 3 or g.shape[1] != 3 or a not in (4, 6):
        raise ValueError("winograd_weights: w must be (m, c, 3, 3) and g (4 or 6, 3)")
    if u.shape[0] != a * a or u.shape[1] != m or u.shape[2] != c:
        raise ValueError("winograd_weights: u must be (a*a, m, c)")
    if m == 0 or c == 0:
        return
    with nogil:
        gk_winograd_weights(&w[0, 0, 0, 0], m, c, a, &g[0, 0], &u[0, 0, 0], threads)


def winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads):
    """Scratch floats winograd_conv needs (with this many threads)."""
    return gk_winograd_work(mt, c, m, oh, ow, chunk, threads)


def winograd_conv(long mt, const float[:, :, :, ::1] x, long ph, long pw, const float[::1] u,
                  long m, const float[::1] bias, float lo, float hi, bint clip,
                  float[:, :, :, ::1] y, float[::1] work, long chunk, int threads,
                  const float[:, :, :, ::1] residual=None):
    """y = clip(conv3x3(x) + bias [+ residual]) by Winograd F(mt x mt, 3x3); u: packed
    transformed weights; residual (y's shape) is added before the clip."""
    cdef const float *res = NULL
    if mt != 2 and mt != 4:
        raise ValueError(f"winograd_conv: tile size {mt} is not 2 or 4")
    _pads("winograd_conv", ph, pw)
    if x is None or y is None or y.shape[0] != x.shape[0] or y.shape[1] != m:
        raise ValueError("winograd_conv: y's batch or channels do not match x and m")
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return
    if chunk < 1:
        raise ValueError("winograd_conv: chunk must be >= 1")
    _vec("winograd_conv", "u", u, (mt + 2) * (mt + 2) * <long>gk_packed_a_size(m, x.shape[1]),
         False)
    _vec("winograd_conv", "bias", bias, m, True)
    _vec("winograd_conv", "work", work, gk_winograd_work(mt, x.shape[1], m, y.shape[2],
                                                          y.shape[3], chunk, threads), False)
    if residual is not None:
        if (residual.shape[0] != y.shape[0] or residual.shape[1] != y.shape[1]
                or residual.shape[2] != y.shape[2] or residual.shape[3] != y.shape[3]):
            raise ValueError("winograd_conv: residual must have the output's shape")
        res = &residual[0, 0, 0, 0]
    with nogil:
        gk_winograd_conv(mt, &x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3], ph,
                         pw, y.shape[2], y.shape[3], &u[0], m,
                         ptr(bias) if bias is not None else NULL, lo, hi, clip,
                         &y[0, 0, 0, 0], &work[0], chunk, threads, res)
    cdef Call c
    if _tracing():
        c = _record(_run_winograd_conv, "winograd_conv", (x, u, bias, y, work, residual))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0, 0, 0], <void *>&u[0]
        c.c.p[2] = <void *>(ptr(bias) if bias is not None else NULL)
        c.c.p[3], c.c.p[4], c.c.p[5] = <void *>&y[0, 0, 0, 0], <void *>&work[0], <void *>res
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3], c.c.i[4] = (mt, x.shape[0], x.shape[1],
                                                            x.shape[2], x.shape[3])
        c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8], c.c.i[9] = ph, pw, y.shape[2], y.shape[3], m
        c.c.i[10], c.c.i[11], c.c.i[12] = clip, chunk, threads
        c.c.f[0], c.c.f[1] = lo, hi


cdef int _run_winograd_conv(const gk_call *c) noexcept nogil:
    gk_winograd_conv(c.i[0], <const float *>c.p[0], c.i[1], c.i[2], c.i[3], c.i[4], c.i[5],
                     c.i[6], c.i[7], c.i[8], <const float *>c.p[1], c.i[9],
                     <const float *>c.p[2], c.f[0], c.f[1], <int>c.i[10], <float *>c.p[3],
                     <float *>c.p[4], c.i[11], <int>c.i[12], <const float *>c.p[5])
    return 0
