# Wrappers of src/normalize.h: Softmax and LayerNorm rows.

cdef extern from "src/normalize.h" nogil:
    void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads)
    void gk_softmax_axis(const float *x, float *y, long outer, long n, long inner, int threads)
    void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y,
                           float *mean, float *inv_std, long rows, long n, float eps,
                           int threads)
    long GK_LN_GRAD_ROWS
    void gk_softmax_grad_rows(const float *dy, const float *y, float *dx, long rows, long n,
                              int log, int threads)
    void gk_layernorm_grad_rows(const float *dy, const float *x, const float *scale, float *dx,
                                float *dscale, float *db, float *partial, long rows, long n,
                                float eps, int threads)


def softmax_rows(const float[:, ::1] x, float[:, ::1] y, int threads):
    if x is None or y is None or y.shape[0] != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError("softmax_rows: x and y differ in shape")
    if x.shape[0] == 0 or x.shape[1] == 0:
        return
    with nogil:
        gk_softmax_rows(&x[0, 0], &y[0, 0], x.shape[0], x.shape[1], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_softmax_rows, "softmax_rows", (x, y))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0], <void *>&y[0, 0]
        c.c.i[0], c.c.i[1], c.c.i[2] = x.shape[0], x.shape[1], threads


cdef int _run_softmax_rows(const gk_call *c) noexcept nogil:
    gk_softmax_rows(<const float *>c.p[0], <float *>c.p[1], c.i[0], c.i[1], <int>c.i[2])
    return 0


def softmax_axis(const float[:, :, ::1] x, float[:, :, ::1] y, int threads):
    """y = softmax of x (outer, n, inner) over its middle axis."""
    if x is None or y is None or any(y.shape[d] != x.shape[d] for d in range(3)):
        raise ValueError("softmax_axis: x and y differ in shape")
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        return
    with nogil:
        gk_softmax_axis(&x[0, 0, 0], &y[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_softmax_axis, "softmax_axis", (x, y))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0, 0], <void *>&y[0, 0, 0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = x.shape[0], x.shape[1], x.shape[2], threads


cdef int _run_softmax_axis(const gk_call *c) noexcept nogil:
    gk_softmax_axis(<const float *>c.p[0], <float *>c.p[1], c.i[0], c.i[1], c.i[2], <int>c.i[3])
    return 0


def layernorm_rows(const float[:, ::1] x, const float[::1] scale, const float[::1] bias,
                   float[:, ::1] y, float[::1] mean, float[::1] inv_std, float eps, int threads):
    if x is None or y is None or y.shape[0] != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError("layernorm_rows: x and y differ in shape")
    if x.shape[0] == 0 or x.shape[1] == 0:
        return
    _vec("layernorm_rows", "scale", scale, x.shape[1], False)
    _vec("layernorm_rows", "bias", bias, x.shape[1], True)
    _vec("layernorm_rows", "mean", mean, x.shape[0], False)
    _vec("layernorm_rows", "inv_std", inv_std, x.shape[0], False)
    with nogil:
        gk_layernorm_rows(&x[0, 0], &scale[0], ptr(bias) if bias is not None else NULL,
                          &y[0, 0], &mean[0], &inv_std[0], x.shape[0], x.shape[1], eps,
                          threads)
    cdef Call c
    if _tracing():
        c = _record(_run_layernorm_rows, "layernorm_rows", (x, scale, bias, y, mean, inv_std))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0], <void *>&scale[0]
        c.c.p[2] = <void *>(ptr(bias) if bias is not None else NULL)
        c.c.p[3], c.c.p[4], c.c.p[5] = <void *>&y[0, 0], <void *>&mean[0], <void *>&inv_std[0]
        c.c.i[0], c.c.i[1], c.c.i[2] = x.shape[0], x.shape[1], threads
        c.c.f[0] = eps


cdef int _run_layernorm_rows(const gk_call *c) noexcept nogil:
    gk_layernorm_rows(<const float *>c.p[0], <const float *>c.p[1], <const float *>c.p[2],
                      <float *>c.p[3], <float *>c.p[4], <float *>c.p[5], c.i[0], c.i[1], c.f[0],
                      <int>c.i[2])
    return 0


def layernorm_grad_rows(const float[:, ::1] dy, const float[:, ::1] x, const float[::1] scale,
                        float[:, ::1] dx, float[::1] dscale, float[::1] db, float eps,
                        int threads):
    """LayerNormalization's VJP over the rows of x (rows, n): dx, dscale = Σ dy xh, db = Σ dy."""
    _need(dy is not None and x is not None and dx is not None,
          "layernorm_grad_rows: dy, x and dx are required")
    cdef long rows = x.shape[0], n = x.shape[1]
    _need(dy.shape[0] == rows and dy.shape[1] == n and dx.shape[0] == rows and dx.shape[1] == n,
          "layernorm_grad_rows: dy, x and dx differ in shape")
    _vec("layernorm_grad_rows", "scale", scale, n, False)
    _vec("layernorm_grad_rows", "dscale", dscale, n, False)
    _vec("layernorm_grad_rows", "db", db, n, False)
    if n == 0:
        return
    if rows == 0:
        dscale[:] = 0.0
        db[:] = 0.0
        return
    cdef float[::1] partial = _np.empty(2 * n * ((rows + GK_LN_GRAD_ROWS - 1) // GK_LN_GRAD_ROWS),
                                        _np.float32)
    with nogil:
        gk_layernorm_grad_rows(&dy[0, 0], &x[0, 0], &scale[0], &dx[0, 0], &dscale[0], &db[0],
                               &partial[0], rows, n, eps, threads)


def softmax_grad_rows(const float[:, ::1] dy, const float[:, ::1] y, float[:, ::1] dx,
                      bint log, int threads):
    """Softmax's (LogSoftmax's with log) VJP over the rows of y: dx = y (dy - Σ dy y) (or
    dy - exp(y) Σ dy)."""
    _need(dy is not None and y is not None and dx is not None,
          "softmax_grad_rows: dy, y and dx are required")
    cdef long rows = y.shape[0], n = y.shape[1]
    _need(dy.shape[0] == rows and dy.shape[1] == n and dx.shape[0] == rows and dx.shape[1] == n,
          "softmax_grad_rows: dy, y and dx differ in shape")
    if rows == 0 or n == 0:
        return
    with nogil:
        gk_softmax_grad_rows(&dy[0, 0], &y[0, 0], &dx[0, 0], rows, n, log, threads)
