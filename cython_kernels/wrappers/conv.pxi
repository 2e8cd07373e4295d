# Wrappers of src/conv.h: im2col into packed B, the depthwise conv, the direct conv (few input
# channels), and the switch of the polyphase kernels.

cdef extern from "src/conv.h" nogil:
    void gk_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                        float *out, int threads)
    void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh,
                      long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                      long ow, const float *bias, float lo, float hi, int clip, float *y,
                      int threads)
    size_t gk_conv_direct_work(long c, long h, long w, long kh, long kw, long sh, long sw,
                               long dh, long dw, long ph, long pw, long oh, long ow)
    int gk_conv_direct(const float *x, long n, long c, long h, long w, const float *wt_t, long m,
                       long ldw, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                       long pw, long oh, long ow, const float *bias, float lo, float hi, int clip,
                       float *y, float *work, int threads)

cdef extern from "src/polyphase.h" nogil:
    int gk_polyphase_on


def polyphase_on(int on=-1):
    """Turns the polyphase kernels (depthwise, direct conv, pooling) on (1) or off (0: their row
    paths run, and conv_direct declines); -1 only asks. Returns the previous setting."""
    global gk_polyphase_on
    cdef int old = gk_polyphase_on
    if on >= 0:
        gk_polyphase_on = on
    return bool(old)


def pack_b_conv(const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh, long dw,
                long ph, long pw, long oh, long ow, float[::1] out, int threads):
    """out = packed im2col of one image group x (C, H, W)."""
    _geometry("pack_b_conv", kh, kw, sh, sw, dh, dw)
    _pads("pack_b_conv", ph, pw)
    if oh < 0 or ow < 0:
        raise ValueError("pack_b_conv: negative output size")
    if x.shape[0] == 0 or oh == 0 or ow == 0:
        return
    _vec("pack_b_conv", "out", out, gk_packed_b_size(x.shape[0] * kh * kw, oh * ow), False)
    with nogil:
        gk_pack_b_conv(&x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw,
                       ph, pw, oh, ow, &out[0], threads)


def depthwise(const float[:, :, :, ::1] x, const float[::1] wt, long kh, long kw, long sh,
              long sw, long dh, long dw, long ph, long pw, const float[::1] bias, float lo,
              float hi, bint clip, float[:, :, :, ::1] y, int threads):
    """y = clip(depthwise conv(x, wt) + bias, lo, hi) (one filter per channel)."""
    _geometry("depthwise", kh, kw, sh, sw, dh, dw)
    _pads("depthwise", ph, pw)
    if y.shape[0] != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError(f"depthwise: y ({y.shape[0]}, {y.shape[1]}, ..) and x ({x.shape[0]}, "
                         f"{x.shape[1]}, ..) differ in batch or channels")
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return
    _vec("depthwise", "wt", wt, x.shape[1] * kh * kw, False)
    _vec("depthwise", "bias", bias, x.shape[1], True)
    with nogil:
        gk_depthwise(&x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3], &wt[0],
                     kh, kw, sh, sw, dh, dw, ph, pw, y.shape[2], y.shape[3],
                     ptr(bias) if bias is not None else NULL, lo, hi, clip, &y[0, 0, 0, 0],
                     threads)


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
