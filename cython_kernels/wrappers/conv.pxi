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
    size_t gk_conv_cvec_work(long n, long c, long kh, long kw, long oh, long ow, long m)
    int gk_conv_cvec(const float *x, long n, long c, long h, long w, const float *wp, long m,
                     long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw,
                     long oh, long ow, const float *bias, float lo, float hi, int clip, float *y,
                     float *work, int threads)

cdef extern from "src/polyphase.h" nogil:
    int gk_polyphase_on

cdef extern from "src/conv.h" nogil:
    int gk_direct_b_on
    int gk_conv_direct_b_mode(long m, long batch, long c, long h, long w, long kh, long kw,
                              long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                              long ow, int residual)


def conv_b_mode(long m, long batch, long c, long h, long w, long kh, long kw, long sh, long sw,
                long dh, long dw, long ph, long pw, long oh, long ow, bint residual=False):
    """How conv_gemm / conv_gemm_batch would read this conv's B (one group, m output channels):
    0 packed panels, 1 the input planes in place (1x1 unpadded, one image), 2 a zero-padded copy
    of the input in place (src/conv.c direct_b_mode)."""
    return gk_conv_direct_b_mode(m, batch, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                                 residual)


def direct_b_on(int on=-1):
    """Turns conv_gemm's unpacked-B paths (src/gemm_direct.h: 1x1 and stride-1 convs multiply
    their input, or a zero-padded copy of it, in place) on (1) or off (0: B is packed as before);
    -1 only asks. Returns the previous setting."""
    global gk_direct_b_on
    cdef int old = gk_direct_b_on
    if on >= 0:
        gk_direct_b_on = on
    return bool(old)


cdef extern from * nogil:
    """
    extern long gk_conv_cols_k; /* src/conv.c (not in conv.h: every level includes it) */
    """
    long gk_conv_cols_k


def conv_cols_k(long k=-1):
    """conv_gemm's packed path splits a product of K at most this by columns where the GEMM's
    grid would split its rows (0: never; -1 only asks). Returns the previous setting. The same
    bits at any setting."""
    global gk_conv_cols_k
    cdef long old = gk_conv_cols_k
    if k >= 0:
        gk_conv_cols_k = k
    return old


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
    cdef Call c
    if _tracing():
        c = _record(_run_pack_b_conv, "pack_b_conv", (x, out))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0, 0], <void *>&out[0]
        c.c.i[0], c.c.i[1], c.c.i[2] = x.shape[0], x.shape[1], x.shape[2]
        c.c.i[3], c.c.i[4], c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8] = kh, kw, sh, sw, dh, dw
        c.c.i[9], c.c.i[10], c.c.i[11], c.c.i[12], c.c.i[13] = ph, pw, oh, ow, threads


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
    cdef Call c
    if _tracing():
        c = _record(_run_depthwise, "depthwise", (x, wt, bias, y))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0, 0, 0], <void *>&wt[0]
        c.c.p[2] = <void *>(ptr(bias) if bias is not None else NULL)
        c.c.p[3] = <void *>&y[0, 0, 0, 0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        c.c.i[4], c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8], c.c.i[9] = kh, kw, sh, sw, dh, dw
        c.c.i[10], c.c.i[11], c.c.i[12], c.c.i[13] = ph, pw, y.shape[2], y.shape[3]
        c.c.i[14], c.c.i[15] = clip, threads
        c.c.f[0], c.c.f[1] = lo, hi


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
    cdef Call c
    if done and _tracing():
        c = _record(_run_conv_direct, "conv_direct", (x, wt_t, bias, y, work))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0, 0, 0], <void *>&wt_t[0, 0]
        c.c.p[2] = <void *>(ptr(bias) if bias is not None else NULL)
        c.c.p[3], c.c.p[4] = <void *>&y[0, 0, 0, 0], <void *>&work[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        c.c.i[4], c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8], c.c.i[9] = (y.shape[1], wt_t.shape[1],
                                                                      kh, kw, sh, sw)
        c.c.i[10], c.c.i[11], c.c.i[12], c.c.i[13] = dh, dw, ph, pw
        c.c.i[14], c.c.i[15], c.c.i[16], c.c.i[17] = y.shape[2], y.shape[3], clip, threads
        c.c.f[0], c.c.f[1] = lo, hi
    return bool(done)


def conv_cvec_work(long n, long c, long kh, long kw, long oh, long ow, long m):
    """Scratch floats conv_cvec needs."""
    if n < 0 or c < 0 or kh < 1 or kw < 1 or oh < 0 or ow < 0 or m < 0:
        raise ValueError("conv_cvec_work: negative size or empty kernel")
    return gk_conv_cvec_work(n, c, kh, kw, oh, ow, m)


def conv_cvec(const float[:, :, :, ::1] x, const float[:, :, ::1] wp, long kh, long kw,
              long sh, long sw, long dh, long dw, long ph, long pw, const float[::1] bias,
              float lo, float hi, bint clip, float[:, :, :, ::1] y, float[::1] work, int threads):
    """y = clip(conv(x, w) + bias) for one group of a small output plane, output channels in the
    vector lanes (src/conv.h gk_conv_cvec); wp: the weights in panels of 16 output channels,
    ((M + 15) / 16, C*kh*kw, 16), zeros past M. False (y untouched) where the SIMD level has no
    such kernel."""
    cdef int done
    _geometry("conv_cvec", kh, kw, sh, sw, dh, dw)
    _pads("conv_cvec", ph, pw)
    if x is None or y is None or y.shape[0] != x.shape[0]:
        raise ValueError("conv_cvec: x and y differ in batch")
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return True
    if (wp is None or wp.shape[0] != (y.shape[1] + 15) // 16 or
            wp.shape[1] != x.shape[1] * kh * kw or wp.shape[2] != 16):
        raise ValueError("conv_cvec: the weight panels do not fit the input and output")
    _vec("conv_cvec", "bias", bias, y.shape[1], True)
    _vec("conv_cvec", "work", work,
         gk_conv_cvec_work(x.shape[0], x.shape[1], kh, kw, y.shape[2], y.shape[3], y.shape[1]),
         False)
    with nogil:
        done = gk_conv_cvec(&x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                            &wp[0, 0, 0], y.shape[1], kh, kw, sh, sw, dh, dw, ph, pw, y.shape[2],
                            y.shape[3], ptr(bias) if bias is not None else NULL, lo, hi, clip,
                            &y[0, 0, 0, 0], &work[0], threads)
    cdef Call c
    if done and _tracing():
        c = _record(_run_conv_cvec, "conv_cvec", (x, wp, bias, y, work))
        c.c.p[0], c.c.p[1] = <void *>&x[0, 0, 0, 0], <void *>&wp[0, 0, 0]
        c.c.p[2] = <void *>(ptr(bias) if bias is not None else NULL)
        c.c.p[3], c.c.p[4] = <void *>&y[0, 0, 0, 0], <void *>&work[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        c.c.i[4], c.c.i[5], c.c.i[6], c.c.i[7], c.c.i[8] = y.shape[1], kh, kw, sh, sw
        c.c.i[9], c.c.i[10], c.c.i[11], c.c.i[12] = dh, dw, ph, pw
        c.c.i[13], c.c.i[14], c.c.i[15], c.c.i[16] = y.shape[2], y.shape[3], clip, threads
        c.c.f[0], c.c.f[1] = lo, hi
    return bool(done)


cdef int _run_conv_cvec(const gk_call *c) noexcept nogil:
    gk_conv_cvec(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3], <const float *>c.p[1],
                 c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12],
                 c.i[13], c.i[14], <const float *>c.p[2], c.f[0], c.f[1], <int>c.i[15],
                 <float *>c.p[3], <float *>c.p[4], <int>c.i[16])
    return 0


cdef int _run_pack_b_conv(const gk_call *c) noexcept nogil:
    gk_pack_b_conv(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3], c.i[4], c.i[5], c.i[6],
                   c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12], <float *>c.p[1],
                   <int>c.i[13])
    return 0


cdef int _run_depthwise(const gk_call *c) noexcept nogil:
    gk_depthwise(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3], <const float *>c.p[1],
                 c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12],
                 c.i[13], <const float *>c.p[2], c.f[0], c.f[1], <int>c.i[14], <float *>c.p[3],
                 <int>c.i[15])
    return 0


cdef int _run_conv_direct(const gk_call *c) noexcept nogil:
    gk_conv_direct(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3], <const float *>c.p[1],
                   c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12],
                   c.i[13], c.i[14], c.i[15], <const float *>c.p[2], c.f[0], c.f[1],
                   <int>c.i[16], <float *>c.p[3], <float *>c.p[4], <int>c.i[17])
    return 0


# Wrapper of src/conv.h gk_conv_gemm: one image group's conv as a GEMM in one call, each thread
# packing the im2col panels it multiplies.

cdef extern from "src/conv.h" nogil:
    void gk_conv_gemm(const float *ap, long m, const float *x, long c, long h, long w, long kh,
                      long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                      long ow, float *bp, float *y, const float *bias, const float *residual,
                      float lo, float hi, int clip, int threads)


cdef extern from "src/conv.h" nogil:
    long gk_conv_fill_bytes
    long gk_conv_fill_deep_bytes


def conv_fill_bytes(long nbytes=-1):
    """Packed-B bytes of the runs in which a thread of conv_gemm's packed path packs and
    multiplies its block of columns (src/conv.c conv_fill_blocks: where the threads split C by
    columns only and packed A is at most 1 MiB; 0: the whole block at once, gemm.h's
    gk_gemm_fill_b); -1 only asks. Returns the previous setting. The same bits at any setting."""
    global gk_conv_fill_bytes
    cdef long old = gk_conv_fill_bytes
    if nbytes >= 0:
        gk_conv_fill_bytes = nbytes
    return old


def conv_fill_deep_bytes(long nbytes=-1):
    """conv_fill_bytes for the deep convs (K = c kh kw >= 576: src/conv.h GK_CONV_FILL_DEEP_K;
    0: conv_fill_bytes's); -1 only asks. Returns the previous setting. The same bits."""
    global gk_conv_fill_deep_bytes
    cdef long old = gk_conv_fill_deep_bytes
    if nbytes >= 0:
        gk_conv_fill_deep_bytes = nbytes
    return old


def conv_gemm(const float[::1] ap, const float[:, :, ::1] x, long kh, long kw, long sh, long sw,
              long dh, long dw, long ph, long pw, long oh, long ow, float[::1] bp,
              float[:, ::1] y, const float[::1] bias, const float[:, ::1] residual, float lo,
              float hi, bint clip, int threads):
    """y (M x oh*ow) = clip(packed A @ im2col(x) + bias[:, None] + residual, lo, hi): one image
    group x (C, H, W), A packed by pack_a (M x C*kh*kw), bp room for the packed im2col."""
    _geometry("conv_gemm", kh, kw, sh, sw, dh, dw)
    _pads("conv_gemm", ph, pw)
    cdef long m = y.shape[0], c = x.shape[0], n = oh * ow, k = x.shape[0] * kh * kw
    if oh < 0 or ow < 0 or y.shape[1] != n:
        raise ValueError(f"conv_gemm: y has {y.shape[1]} columns for a {oh} x {ow} output")
    if m == 0 or n == 0:
        return
    _vec("conv_gemm", "packed A", ap, gk_packed_a_size(m, k), False)
    _vec("conv_gemm", "bp", bp, gk_packed_b_size(k, n), False)
    _vec("conv_gemm", "bias", bias, m, True)
    if residual is not None and (residual.shape[0] != m or residual.shape[1] != n):
        raise ValueError("conv_gemm: the residual is not shaped as y")
    cdef const float *pres = &residual[0, 0] if residual is not None else NULL
    cdef const float *pbias = ptr(bias) if bias is not None else NULL
    cdef const float *px = &x[0, 0, 0] if c > 0 else NULL
    with nogil:
        gk_conv_gemm(ptr(ap), m, px, c, x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw, ph, pw,
                     oh, ow, &bp[0], &y[0, 0], pbias, pres, lo, hi, clip, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_conv_gemm, "conv_gemm", (ap, x, bp, y, bias, residual))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>ptr(ap), <void *>px, <void *>&bp[0]
        call.c.p[3], call.c.p[4], call.c.p[5] = <void *>&y[0, 0], <void *>pbias, <void *>pres
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = m, c, x.shape[1], x.shape[2]
        call.c.i[4], call.c.i[5], call.c.i[6], call.c.i[7] = kh, kw, sh, sw
        call.c.i[8], call.c.i[9], call.c.i[10], call.c.i[11] = dh, dw, ph, pw
        call.c.i[12], call.c.i[13], call.c.i[14], call.c.i[15] = oh, ow, clip, threads
        call.c.f[0], call.c.f[1] = lo, hi


cdef int _run_conv_gemm(const gk_call *c) noexcept nogil:
    gk_conv_gemm(<const float *>c.p[0], c.i[0], <const float *>c.p[1], c.i[1], c.i[2], c.i[3],
                 c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12],
                 c.i[13], <float *>c.p[2], <float *>c.p[3], <const float *>c.p[4],
                 <const float *>c.p[5], c.f[0], c.f[1], <int>c.i[14], <int>c.i[15])
    return 0


# Wrapper of src/conv.h gk_conv_gemm_batch: gk_conv_gemm over a batch of images (one group), one
# product for all of them where the input is read in place.

cdef extern from "src/conv.h" nogil:
    void gk_conv_gemm_batch(const float *ap, long m, const float *x, long batch, long c, long h,
                            long w, long kh, long kw, long sh, long sw, long dh, long dw,
                            long ph, long pw, long oh, long ow, float *bp, float *y,
                            const float *bias, const float *residual, float lo, float hi,
                            int clip, int threads)


def conv_gemm_batch(const float[::1] ap, const float[:, :, :, ::1] x, long kh, long kw, long sh,
                    long sw, long dh, long dw, long ph, long pw, long oh, long ow, float[::1] bp,
                    float[:, :, ::1] y, const float[::1] bias, const float[:, :, ::1] residual,
                    float lo, float hi, bint clip, int threads):
    """y[i] (M x oh*ow) = clip(packed A @ im2col(x[i]) + bias[:, None] + residual[i], lo, hi) for
    every image x[i] (C, H, W) of one group; bp room for one image's packed im2col."""
    _geometry("conv_gemm_batch", kh, kw, sh, sw, dh, dw)
    _pads("conv_gemm_batch", ph, pw)
    cdef long b = x.shape[0], m = y.shape[1], c = x.shape[1], n = oh * ow, k = c * kh * kw
    if oh < 0 or ow < 0 or y.shape[0] != b or y.shape[2] != n:
        raise ValueError(f"conv_gemm_batch: y ({y.shape[0]}, {y.shape[1]}, {y.shape[2]}) is not "
                         f"({b}, M, {oh} x {ow})")
    if b == 0 or m == 0 or n == 0:
        return
    _vec("conv_gemm_batch", "packed A", ap, gk_packed_a_size(m, k), False)
    _vec("conv_gemm_batch", "bp", bp, gk_packed_b_size(k, n), False)
    _vec("conv_gemm_batch", "bias", bias, m, True)
    if residual is not None and (residual.shape[0] != b or residual.shape[1] != m
                                 or residual.shape[2] != n):
        raise ValueError("conv_gemm_batch: the residual is not shaped as y")
    cdef const float *pres = &residual[0, 0, 0] if residual is not None else NULL
    cdef const float *pbias = ptr(bias) if bias is not None else NULL
    cdef const float *px = &x[0, 0, 0, 0] if c > 0 else NULL
    with nogil:
        gk_conv_gemm_batch(ptr(ap), m, px, b, c, x.shape[2], x.shape[3], kh, kw, sh, sw, dh, dw,
                           ph, pw, oh, ow, &bp[0], &y[0, 0, 0], pbias, pres, lo, hi, clip,
                           threads)
    cdef Call call
    if _tracing():
        call = _record(_run_conv_gemm_batch, "conv_gemm_batch", (ap, x, bp, y, bias, residual))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>ptr(ap), <void *>px, <void *>&bp[0]
        call.c.p[3], call.c.p[4], call.c.p[5] = <void *>&y[0, 0, 0], <void *>pbias, <void *>pres
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = m, b, c, x.shape[2]
        call.c.i[4], call.c.i[5], call.c.i[6], call.c.i[7] = x.shape[3], kh, kw, sh
        call.c.i[8], call.c.i[9], call.c.i[10], call.c.i[11] = sw, dh, dw, ph
        call.c.i[12], call.c.i[13], call.c.i[14], call.c.i[15] = pw, oh, ow, clip
        call.c.i[16] = threads
        call.c.f[0], call.c.f[1] = lo, hi


cdef int _run_conv_gemm_batch(const gk_call *c) noexcept nogil:
    gk_conv_gemm_batch(<const float *>c.p[0], c.i[0], <const float *>c.p[1], c.i[1], c.i[2],
                       c.i[3], c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11],
                       c.i[12], c.i[13], c.i[14], <float *>c.p[2], <float *>c.p[3],
                       <const float *>c.p[4], <const float *>c.p[5], c.f[0], c.f[1],
                       <int>c.i[15], <int>c.i[16])
    return 0
