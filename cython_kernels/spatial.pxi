# Cython wrappers for src/spatial.c (included by _ext.pyx): polyphase depthwise / direct conv and
# pooling. Each returns False where the C kernel did nothing (generic SIMD level), and the caller
# runs its older path.

cdef extern from *:
    """
    extern int gk_spatial_on;
    size_t gk_conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw,
                               long dh, long dw, long ph, long pw, long oh, long ow);
    int gk_conv_direct(const float *x, long n, long c, long h, long w, const float *wt_t, long m,
                       long ldw, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                       long pw, long oh, long ow, const float *bias, float lo, float hi, int clip,
                       float *y, float *work, int threads);
    int gk_pool_poly(int is_max, const float *x, long nc, long h, long w, long kh, long kw,
                     long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                     const float *cnt_y, const float *cnt_x, float *y, int threads);
    """
    int gk_spatial_on
    size_t gk_conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw,
                               long dh, long dw, long ph, long pw, long oh, long ow) nogil
    int gk_conv_direct(const float *x, long n, long c, long h, long w, const float *wt_t, long m,
                       long ldw, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                       long pw, long oh, long ow, const float *bias, float lo, float hi, int clip,
                       float *y, float *work, int threads) nogil
    int gk_pool_poly(int is_max, const float *x, long nc, long h, long w, long kh, long kw,
                     long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                     const float *cnt_y, const float *cnt_x, float *y, int threads) nogil


def spatial_on(int on=-1):
    """Turns the polyphase kernels on (1) or off (0: the older paths run); -1 only asks.
    Returns the previous setting."""
    global gk_spatial_on
    cdef int old = gk_spatial_on
    if on >= 0:
        gk_spatial_on = on
    return bool(old)


def conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw, long dh,
                     long dw, long ph, long pw, long oh, long ow):
    """Scratch floats conv_direct needs."""
    _geometry("conv_direct_work", kh, kw, sh, sw, dh, dw)
    _pads("conv_direct_work", ph, pw)
    return gk_conv_direct_work(c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)


def conv_direct(const float[:, :, :, ::1] x, const float[:, ::1] wt_t, long kh, long kw,
                long sh, long sw, long dh, long dw, long ph, long pw, const float[::1] bias,
                float lo, float hi, bint clip, float[:, :, :, ::1] y, float[::1] work,
                int threads):
    """y = clip(conv(x, w) + bias) for one group, wt_t = w.reshape(M, -1).T zero-padded to
    C*kh*kw x ldw columns, ldw a multiple of 16 (direct_weights); False (y untouched) where the
    SIMD level has no such kernel."""
    cdef int done
    _geometry("conv_direct", kh, kw, sh, sw, dh, dw)
    _pads("conv_direct", ph, pw)
    if x is None or y is None or y.shape[0] != x.shape[0]:
        raise ValueError("conv_direct: x and y differ in batch")
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return True
    if wt_t is None or wt_t.shape[0] != x.shape[1] * kh * kw or wt_t.shape[1] < y.shape[1]:
        raise ValueError("conv_direct: weights do not fit the input and output")
    _vec("conv_direct", "bias", bias, y.shape[1], True)
    _vec("conv_direct", "work", work,
         gk_conv_direct_work(x.shape[1], x.shape[2], x.shape[3], kh, kw, sh, sw, dh, dw, ph, pw,
                             y.shape[2], y.shape[3]), False)
    with nogil:
        done = gk_conv_direct(&x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                              &wt_t[0, 0], y.shape[1], wt_t.shape[1], kh, kw, sh, sw, dh, dw, ph, pw,
                              y.shape[2], y.shape[3], ptr(bias) if bias is not None else NULL,
                              lo, hi, clip, &y[0, 0, 0, 0], &work[0], threads)
    return bool(done)


def pool2d_poly(bint is_max, const float[:, :, ::1] x, long kh, long kw, long sh, long sw,
                long dh, long dw, long ph, long pw, const float[::1] cnt_y,
                const float[::1] cnt_x, float[:, :, ::1] y, int threads):
    """y[p] = max or average pool of plane x[p] (average divides by cnt_y[oy] * cnt_x[ox]),
    by the polyphase kernel, else by pool2d (the generic SIMD level)."""
    cdef int done = 0
    _pool_check("pool2d_poly", is_max, x, kh, kw, sh, sw, dh, dw, cnt_y, cnt_x, y)
    _pads("pool2d_poly", ph, pw)
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0:
        return
    with nogil:
        done = gk_pool_poly(is_max, &x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh,
                            sw, dh, dw, ph, pw, y.shape[1], y.shape[2],
                            ptr(cnt_y) if cnt_y is not None else NULL,
                            ptr(cnt_x) if cnt_x is not None else NULL, &y[0, 0, 0], threads)
        if not done:
            gk_pool2d(is_max, &x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw,
                      dh, dw, ph, pw, y.shape[1], y.shape[2],
                      ptr(cnt_y) if cnt_y is not None else NULL,
                      ptr(cnt_x) if cnt_x is not None else NULL, &y[0, 0, 0], threads)
