# Wrappers of src/train.h: training-mode BatchNormalization forward and VJP, ClipGrad, MaxPoolGrad.

cdef extern from "src/train.h" nogil:
    long GK_CLIP_CHUNK
    void gk_bn_train_forward(const float *x, const float *scale, const float *bias, float *y,
                             float *mean, float *var, long n, long c, long l, double eps,
                             int threads)
    void gk_bn_train_grad(const float *dy, const float *x, const float *scale, float *dx,
                          float *dscale, float *db, long n, long c, long l, double eps,
                          int threads)
    void gk_clip_grad(const float *dy, const float *x, float lo, float hi, float *dx,
                      double *sums, long n, int threads)
    void gk_max_pool_grad(const float *dy, const float *x, float *dx, long planes, long h,
                          long w, long kh, long kw, int threads)
    void gk_gelu_grad(const float *dy, const float *x, float *dx, long n, int threads)
    long GK_OPT_CHUNK
    void gk_adam(const float *x, const float *grad, const float *v, const float *h, float *xo,
                 float *vo, float *ho, long n, const float *k, int threads)
    void gk_momentum(const float *x, const float *grad, const float *v, float *xo, float *vo,
                     long n, const float *k, int nesterov, int threads)
    void gk_gather_grad(const float *dy, const long long *idx, double *acc, float *out,
                        long outer, long n, long dim, long inner)


cdef long _ncl(str name, long n, long c, long l, Py_ssize_t have) except -1:
    """n c l, after checking each size is >= 0 and the product fits in `have` floats."""
    if n < 0 or c < 0 or l < 0:
        raise ValueError(f"{name}: negative size")
    if n and c and l and (n > have or c > have // n or l > have // (n * c)):
        raise ValueError(f"{name}: an array has fewer than {n} x {c} x {l} floats")
    return n * c * l


def bn_train_forward(const float[::1] x, const float[::1] scale, const float[::1] bias,
                     float[::1] y, float[::1] mean, float[::1] var, long n, long c, long l,
                     double eps, int threads):
    """y = BatchNormalization(x) with x's batch moments (x, y: (N, C, L)); mean, var: (C,)."""
    _need(x is not None and y is not None, "bn_train_forward: x and y are required")
    _ncl("bn_train_forward", n, c, l, min(x.shape[0], y.shape[0]))
    for arg, v in (("scale", scale), ("bias", bias), ("mean", mean), ("var", var)):
        _vec("bn_train_forward", arg, v, c, False)
    if n * c * l == 0:
        return
    with nogil:
        gk_bn_train_forward(&x[0], &scale[0], &bias[0], &y[0], &mean[0], &var[0], n, c, l, eps,
                            threads)


def bn_train_grad(const float[::1] dy, const float[::1] x, const float[::1] scale,
                  float[::1] dx, float[::1] dscale, float[::1] db, long n, long c, long l,
                  double eps, int threads):
    """(dx, dscale, db) of training-mode BatchNormalization (dy, x, dx: (N, C, L))."""
    _need(dy is not None and x is not None and dx is not None,
          "bn_train_grad: dy, x and dx are required")
    _ncl("bn_train_grad", n, c, l, min(dy.shape[0], x.shape[0], dx.shape[0]))
    for arg, v in (("scale", scale), ("dscale", dscale), ("db", db)):
        _vec("bn_train_grad", arg, v, c, False)
    if n * c * l == 0:
        return
    with nogil:
        gk_bn_train_grad(&dy[0], &x[0], &scale[0], &dx[0], &dscale[0], &db[0], n, c, l, eps,
                         threads)


def clip_grad(const float[::1] dy, const float[::1] x, float lo, float hi, float[::1] dx,
              int threads):
    """dx = dy where lo <= x <= hi (or x is NaN), else 0; returns (Σ dy where x < lo,
    Σ dy where x > hi) as floats (float64 sums of per-chunk parts, in order)."""
    _need(dy is not None and x is not None and dx is not None,
          "clip_grad: dy, x and dx are required")
    cdef long n = x.shape[0]
    _need(dy.shape[0] >= n and dx.shape[0] >= n, "clip_grad: dy or dx is shorter than x")
    _need(not (lo > hi), "clip_grad: lo > hi")
    if n == 0:
        return 0.0, 0.0
    cdef long chunks = (n + GK_CLIP_CHUNK - 1) // GK_CLIP_CHUNK
    cdef double[::1] sums = _np.empty(2 * chunks, _np.float64)
    with nogil:
        gk_clip_grad(&dy[0], &x[0], lo, hi, &dx[0], &sums[0], n, threads)
    cdef double below = 0.0, above = 0.0
    cdef long k
    for k in range(chunks):
        below += sums[2 * k]
        above += sums[2 * k + 1]
    return below, above


def max_pool_grad(const float[::1] dy, const float[::1] x, float[::1] dx, long planes, long h,
                  long w, long kh, long kw, int threads):
    """dx of a MaxPool over planes (h, w) with kh x kw windows at strides (kh, kw), no pads."""
    _need(dy is not None and x is not None and dx is not None,
          "max_pool_grad: dy, x and dx are required")
    _geometry("max_pool_grad", kh, kw, kh, kw, 1, 1)
    _ncl("max_pool_grad", planes, h, w, min(x.shape[0], dx.shape[0]))
    _ncl("max_pool_grad", planes, h // kh, w // kw, dy.shape[0])
    if planes * h * w == 0:
        return
    with nogil:
        gk_max_pool_grad(&dy[0], &x[0], &dx[0], planes, h, w, kh, kw, threads)


def gelu_grad(const float[::1] dy, const float[::1] x, float[::1] dx, int threads):
    """dx = dy (Phi(x) + x phi(x)) over x's elements."""
    _need(dy is not None and x is not None and dx is not None,
          "gelu_grad: dy, x and dx are required")
    cdef long n = x.shape[0]
    _need(dy.shape[0] >= n and dx.shape[0] >= n, "gelu_grad: dy or dx is shorter than x")
    if n == 0:
        return
    with nogil:
        gk_gelu_grad(&dy[0], &x[0], &dx[0], n, threads)


def gather_grad(const float[:, :, ::1] dy, const long long[::1] idx, float[:, :, ::1] out):
    """out[o, j] = Σ dy[o, i] over the i with idx[i] = j (float64 sums in order of i), for
    dy (outer, n, inner) and out (outer, dim, inner)."""
    _need(dy is not None and idx is not None and out is not None,
          "gather_grad: dy, idx and out are required")
    cdef long outer = out.shape[0], dim = out.shape[1], inner = out.shape[2], n = idx.shape[0]
    _need(dy.shape[0] == outer and dy.shape[1] == n and dy.shape[2] == inner,
          "gather_grad: dy is not (outer, len(idx), inner)")
    cdef long i
    for i in range(n):
        _need(0 <= idx[i] < dim, "gather_grad: an index is out of range")
    if outer * dim * inner == 0:
        return
    cdef double[::1] acc = _np.empty(outer * dim * inner, _np.float64)
    with nogil:
        gk_gather_grad(&dy[0, 0, 0], &idx[0] if n else NULL, &acc[0], &out[0, 0, 0], outer, n,
                       dim, inner)


cdef int _same_sizes(str name, long n, tuple arrays) except -1:
    for a in arrays:
        _need(a is not None and a.shape[0] == n, f"{name}: the arrays differ in size")
    return 0


def adam(const float[::1] x, const float[::1] grad, const float[::1] v, const float[::1] h,
         float[::1] xo, float[::1] vo, float[::1] ho, const float[::1] k, int threads):
    """One group of the ONNX Adam op (src/train.h's gk_adam); k: the 8 float32 constants."""
    _need(x is not None and k is not None and k.shape[0] == 8, "adam: x and 8 constants needed")
    cdef long n = x.shape[0]
    _same_sizes("adam", n, (grad, v, h, xo, vo, ho))
    if n == 0:
        return
    with nogil:
        gk_adam(&x[0], &grad[0], &v[0], &h[0], &xo[0], &vo[0], &ho[0], n, &k[0], threads)


def momentum(const float[::1] x, const float[::1] grad, const float[::1] v, float[::1] xo,
             float[::1] vo, const float[::1] k, bint nesterov, int threads):
    """One group of the ONNX Momentum op (src/train.h's gk_momentum); k: 4 float32 constants."""
    _need(x is not None and k is not None and k.shape[0] == 4,
          "momentum: x and 4 constants needed")
    cdef long n = x.shape[0]
    _same_sizes("momentum", n, (grad, v, xo, vo))
    if n == 0:
        return
    with nogil:
        gk_momentum(&x[0], &grad[0], &v[0], &xo[0], &vo[0], n, &k[0], nesterov, threads)
