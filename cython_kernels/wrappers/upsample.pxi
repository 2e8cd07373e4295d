# Wrappers of src/upsample.h: ConvTranspose's col2im and Resize.

cdef extern from "src/upsample.h" nogil:
    size_t gk_col2im_work(long sh, long sw, long oh, long ow)
    void gk_col2im(const float *cols, long c, long h, long w, long kh, long kw, long sh, long sw,
                   long dh, long dw, long ph, long pw, long oh, long ow, const float *bias,
                   float *y, float *work, int threads)
    void gk_resize2d(const float *x, long p, long h, long w, float *y, long oh, long ow, int th,
                     const int *ih, const double *wh, const unsigned char *outh, int tw,
                     const int *iw, const double *ww, const unsigned char *outw, double extrap,
                     int threads)


def col2im_work(long sh, long sw, long oh, long ow, int threads):
    """Floats of work col2im needs with this many threads."""
    return gk_col2im_work(sh, sw, oh, ow) * max(threads, 1)


def col2im(const float[::1] cols, long c, long h, long w, long kh, long kw, long sh, long sw,
           long dh, long dw, long ph, long pw, const float[::1] bias, float[:, :, ::1] y,
           float[::1] work, int threads):
    """y[m, iy*sh + ky*dh - ph, ix*sw + kx*dw - pw] += cols[m, ky, kx, iy, ix], plus bias[m]
    (cols (c, kh, kw, h, w) flat, y (c, oh, ow); work: col2im_work floats)."""
    cdef long oh = y.shape[1], ow = y.shape[2]
    _geometry("col2im", kh, kw, sh, sw, dh, dw)
    if c < 0 or h < 0 or w < 0:
        raise ValueError("col2im: negative size")
    if y.shape[0] != c:
        raise ValueError(f"col2im: y has {y.shape[0]} channels, c is {c}")
    if c == 0 or oh == 0 or ow == 0:
        return
    if cols is None or cols.shape[0] < c * kh * kw * h * w:
        raise ValueError("col2im: cols too small")
    _vec("col2im", "work", work, <long>gk_col2im_work(sh, sw, oh, ow) * max(threads, 1), False)
    _vec("col2im", "bias", bias, c, True)
    with nogil:
        gk_col2im(ptr(cols), c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                  ptr(bias) if bias is not None else NULL, &y[0, 0, 0], optr(work), threads)


cdef inline const int *iptr(const int[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


cdef inline const double *dptr(const double[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


cdef inline const unsigned char *bptr(const unsigned char[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


cdef int _index_range(str name, const int[::1] v, long n, long bound) except -1:
    """v[:n] within [0, bound)."""
    cdef long i
    cdef int lo = 0, hi = -1, e
    for i in range(n):
        e = v[i]
        if e < lo:
            lo = e
        if e > hi:
            hi = e
    if lo < 0 or hi >= bound:
        raise ValueError(f"resize2d: {name} holds {lo if lo < 0 else hi}, outside [0, {bound})")
    return 0


def resize2d(const float[:, :, ::1] x, float[:, :, ::1] y, int th, const int[::1] ih,
             const double[::1] wh, const unsigned char[::1] outh, int tw, const int[::1] iw,
             const double[::1] ww, const unsigned char[::1] outw, double extrap, int threads):
    """y[p] = x[p] resampled separably: per axis th/tw taps (0: identity), index tables (o, t)
    tap-major ([t * out + o]), weights (None for nearest), outside masks (None or uint8 per output index)."""
    cdef long p = x.shape[0], h = x.shape[1], w = x.shape[2]
    cdef long oh = y.shape[1], ow = y.shape[2]
    cdef bint nearest
    if th < 0 or tw < 0:
        raise ValueError("resize2d: negative tap count")
    if y.shape[0] != p:
        raise ValueError("resize2d: x and y differ in planes")
    if (th == 0 and oh != h) or (tw == 0 and ow != w):
        raise ValueError("resize2d: an identity axis changes length")
    if (th and (ih is None or ih.shape[0] < oh * th)) or (tw and (iw is None or iw.shape[0] < ow * tw)):
        raise ValueError("resize2d: index tables too short")
    if (wh is None) != (ww is None) and th and tw:
        raise ValueError("resize2d: weights for one axis only")
    if p == 0 or oh == 0 or ow == 0:
        return
    # as the C kernel decides: no weights at all (or only empty ones) means nearest, one tap
    nearest = dptr(wh) == NULL and dptr(ww) == NULL
    if nearest and (th > 1 or tw > 1):
        raise ValueError("resize2d: nearest (no weights) takes one tap per axis")
    if not nearest:
        if th and (wh is None or wh.shape[0] < oh * th):
            raise ValueError(f"resize2d: wh needs {oh * th} weights")
        if tw and (ww is None or ww.shape[0] < ow * tw):
            raise ValueError(f"resize2d: ww needs {ow * tw} weights")
    if th and (outh is not None and 0 < outh.shape[0] < oh):
        raise ValueError(f"resize2d: outh needs {oh} entries")
    if tw and (outw is not None and 0 < outw.shape[0] < ow):
        raise ValueError(f"resize2d: outw needs {ow} entries")
    if th:
        _index_range("ih", ih, oh * th, h)
    if tw:
        _index_range("iw", iw, ow * tw, w)
    with nogil:
        gk_resize2d(&x[0, 0, 0], p, h, w, &y[0, 0, 0], oh, ow, th, iptr(ih), dptr(wh), bptr(outh),
                    tw, iptr(iw), dptr(ww), bptr(outw), extrap, threads)
    cdef Call call
    if _tracing():  # the tables are the kernel's cached ones (they outlive the call)
        call = _record(_run_resize2d, "resize2d", (x, y, ih, wh, outh, iw, ww, outw))
        call.c.p[0], call.c.p[1] = <void *>&x[0, 0, 0], <void *>&y[0, 0, 0]
        call.c.p[2], call.c.p[3] = <void *>iptr(ih), <void *>dptr(wh)
        call.c.p[4], call.c.p[5] = <void *>bptr(outh), <void *>iptr(iw)
        call.c.p[6], call.c.p[7] = <void *>dptr(ww), <void *>bptr(outw)
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = p, h, w, oh
        call.c.i[4], call.c.i[5], call.c.i[6], call.c.i[7] = ow, th, tw, threads
        memcpy(&call.c.i[8], &extrap, sizeof(double))  # the double's bits, unrounded


cdef int _run_resize2d(const gk_call *c) noexcept nogil:
    cdef double extrap
    memcpy(&extrap, &c.i[8], sizeof(double))
    gk_resize2d(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], <float *>c.p[1], c.i[3], c.i[4],
                <int>c.i[5], <const int *>c.p[2], <const double *>c.p[3],
                <const unsigned char *>c.p[4], <int>c.i[6], <const int *>c.p[5],
                <const double *>c.p[6], <const unsigned char *>c.p[7], extrap, <int>c.i[7])
    return 0
