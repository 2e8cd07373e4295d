# Wrappers of src/qconv.h: im2col into the int8 GEMM's packed B, the int8 depthwise conv.

cdef extern from "src/qconv.h" nogil:
    int gk_qpack_b_conv(const void *x, int type, long c, long h, long w, long kh, long kw,
                        long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                        int zx, short *out, int threads)
    int gk_q8_pack_b_conv(const void *x, int type, long c, long h, long w, long kh, long kw,
                          long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                          int zx, int to, int *sums, unsigned char *out, int threads)
    int gk_q8_conv_gemm(const void *x, int type, long c, long h, long w, long kh, long kw,
                        long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                        int zx, int to, int *sums, unsigned char *bp, long m,
                        const unsigned char *ap, int ta, const gk_q8_zero *z, void *y, long ldy,
                        const gk_qepilogue *ep, long i0, int threads)
    size_t gk_qdepthwise_work(long h, long w, long kh, long kw, long sh, long sw, long dh,
                              long dw, long ph, long pw, long oh, long ow)
    void gk_qdepthwise(const void *x, int type, long n, long c, long h, long w,
                       const short *wt, long kh, long kw, long sh, long sw, long dh, long dw,
                       long ph, long pw, long oh, long ow, int zx, const gk_qepilogue *ep,
                       void *y, int *work, int threads)
    void gk_qdepthwise_nhwc(const void *x, int type, long n, long h, long w, long c, long mult,
                            const short *wt, long kh, long kw, long sh, long sw, long dh,
                            long dw, long ph, long pw, long oh, long ow, int zx,
                            const gk_qepilogue *ep, void *y, int *work, int threads)

cdef extern from "src/qconv_split.h" nogil:
    int gk_qsplit_mode
    long gk_qsplit_pieces
    int GK_QSPLIT_PIECES_MAX


def qsplit_mode(int mode=-1):
    """How the int8 convolution's packer and depthwise kernel split their work between threads
    (src/qconv_split.h): 0 the pool's dynamic chunks, 1 one static part of the pixels per thread,
    2 the 8-bit GEMM's pixel panels too, 3 and the element-wise ops' (QLinearAdd/Mul,
    QuantizeLinear, DequantizeLinear) pixels of every plane; -1 (default) only reads it.
    Returns the mode now in force."""
    global gk_qsplit_mode
    if mode not in (-1, 0, 1, 2, 3):
        raise ValueError(f"qsplit_mode: mode {mode} (0 to 3)")
    if mode >= 0:
        gk_qsplit_mode = mode
    return gk_qsplit_mode


def qsplit_pieces(long pieces=-1):
    """Pieces per thread's part in the static splits of qsplit_mode 1-3 (src/qconv_split.h): a
    thread done with its own part's pieces takes the other parts' last pieces, so a thread the OS
    slows holds up one piece; 1 runs each part whole. -1 (default) only reads it. Returns the
    count now in force."""
    global gk_qsplit_pieces
    if pieces != -1 and not 1 <= pieces <= GK_QSPLIT_PIECES_MAX:
        raise ValueError(f"qsplit_pieces: {pieces} pieces (1 to {GK_QSPLIT_PIECES_MAX})")
    if pieces != -1:
        gk_qsplit_pieces = pieces
    return gk_qsplit_pieces


QDW_MAX_TAPS = 258  # src/qconv.h GK_QDW_MAX_TAPS
QDW_NHWC_MAX_TAPS = 33000  # src/qconv.h GK_QDW_NHWC_MAX_TAPS


cdef int _qgeometry(str name, long h, long w, long kh, long kw, long sh, long sw, long dh,
                    long dw, long ph, long pw, long oh, long ow) except -1:
    """The window is valid and the output size (oh, ow) is the one it gives."""
    _geometry(name, kh, kw, sh, sw, dh, dw)
    _pads(name, ph, pw)
    if oh < 0 or ow < 0 or oh > GEOMETRY_MAX or ow > GEOMETRY_MAX:
        raise ValueError(f"{name}: output size {oh} x {ow} out of range")
    if oh > 0 and (oh - 1) * sh + (kh - 1) * dh > h - 1 + 2 * GEOMETRY_MAX:
        raise ValueError(f"{name}: the window leaves the padded input")
    if ow > 0 and (ow - 1) * sw + (kw - 1) * dw > w - 1 + 2 * GEOMETRY_MAX:
        raise ValueError(f"{name}: the window leaves the padded input")
    return 0


def qpack_b_conv(const unsigned char[:, :, ::1] x, int type, long kh, long kw, long sh, long sw,
                 long dh, long dw, long ph, long pw, long oh, long ow, int zx, short[::1] out,
                 int threads):
    """out = im2col(x - zx) (C*kh*kw x oh*ow, padding 0) packed for the int8 GEMM's B."""
    cdef long c = x.shape[0], h = x.shape[1], w = x.shape[2]
    _qtype(type)
    _qgeometry("qpack_b_conv", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    if out.shape[0] < <Py_ssize_t>gk_qpacked_b_size(c * kh * kw, oh * ow):
        raise ValueError("qpack_b_conv: out is too small")
    if c == 0 or h == 0 or w == 0 or oh == 0 or ow == 0:
        return
    cdef int ok
    with nogil:
        ok = gk_qpack_b_conv(&x[0, 0, 0], type, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                             zx, &out[0], threads)
    if not ok:
        raise MemoryError("qpack_b_conv: no memory for a row buffer")
    cdef Call call
    if _tracing():
        call = _record(_run_qpack_b_conv, "qpack_b_conv", (x, out))
        call.c.p[0], call.c.p[1] = <void *>&x[0, 0, 0], <void *>&out[0]
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = type, c, h, w, kh
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8], call.c.i[9] = kw, sh, sw, dh, dw
        call.c.i[10], call.c.i[11], call.c.i[12], call.c.i[13] = ph, pw, oh, ow
        call.c.i[14], call.c.i[15] = zx, threads


def q8_conv_gemm(const unsigned char[:, :, ::1] x, int type, long kh, long kw, long sh, long sw,
                 long dh, long dw, long ph, long pw, long oh, long ow, int zx, int[::1] sums,
                 unsigned char[::1] bp, long m, const unsigned char[::1] ap, int ta, y,
                 QEpilogue ep, const int[::1] za=None, const int[::1] zb=None,
                 const int[::1] sa=None, long i0=0, int threads=1):
    """q8_pack_b_conv of x into bp (stored as the type that is not ta, column sums into sums)
    then q8_gemm(m, oh * ow, C*kh*kw, ap, ta, bp, that type, y, ep, za, zb, sa, sums, i0):
    where the split allows (src/qgemm.h gk_q8_gemm_fusable), in one pool call, each thread
    multiplying the pixels it packed; the same results as the two calls."""
    cdef long c = x.shape[0], h = x.shape[1], w = x.shape[2], n = oh * ow, k = c * kh * kw
    cdef int to = Q_S8 if ta == Q_U8 else Q_U8
    cdef gk_q8_zero z
    _qtype(type)
    _qtype(ta)
    _qgeometry("q8_conv_gemm", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    if zx < (0 if type == Q_U8 else -128) or zx > (255 if type == Q_U8 else 127):
        raise ValueError(f"q8_conv_gemm: zero point {zx} is not a value of the input's type")
    if c == 0 or h == 0 or w == 0 or oh == 0 or ow == 0:
        raise ValueError("q8_conv_gemm: an empty input or output")
    if m <= 0 or i0 < 0:
        raise ValueError(f"q8_conv_gemm: {m} rows at {i0}")
    _q8_out("q8_conv_gemm", bp, n, k)
    cdef int *sp = _q8_sums("q8_conv_gemm", sums, n)
    if ap.shape[0] < <Py_ssize_t>gk_q8_packed_size(m, k):
        raise ValueError("q8_conv_gemm: packed A is too small")
    z.za = _q8_zp("q8_conv_gemm za", za, m, &z.za_s)
    z.zb = _q8_zp("q8_conv_gemm zb", zb, n, &z.zb_s)
    z.sa = _q8_csums("q8_conv_gemm sa", sa, m)
    z.sb = sp
    ep.check(i0 + m, n)
    cdef unsigned char[:, ::1] yv = _qout("q8_conv_gemm", y, ep, m, n)
    cdef long ldy = yv.strides[0] // _Q_ITEMSIZE[ep.ep.out_type]
    cdef int ok
    with nogil:
        ok = gk_q8_conv_gemm(&x[0, 0, 0], type, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                             zx, to, sp, &bp[0], m, &ap[0], ta, &z, &yv[0, 0], ldy, &ep.ep, i0,
                             threads)
    if not ok:
        if (z.za != NULL and z.sb == NULL) or (z.zb != NULL and z.sa == NULL):
            raise ValueError("q8_conv_gemm: a nonzero zero point needs the other operand's sums")
        raise MemoryError("q8_conv_gemm: no memory for a row buffer or the zero-point terms")
    cdef Call call
    if _tracing():
        call = _record(_run_q8_conv_gemm, "q8_conv_gemm", (x, sums, bp, ap, yv, ep, za, zb, sa))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&x[0, 0, 0], <void *>sp, <void *>&bp[0]
        call.c.p[3], call.c.p[4] = <void *>&ap[0], <void *>&yv[0, 0]
        call.c.p[5], call.c.p[6], call.c.p[7] = <void *>z.za, <void *>z.zb, <void *>z.sa
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = type, c, h, w, kh
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8], call.c.i[9] = kw, sh, sw, dh, dw
        call.c.i[10], call.c.i[11], call.c.i[12], call.c.i[13] = ph, pw, oh, ow
        call.c.i[14], call.c.i[15], call.c.i[16], call.c.i[17] = zx, threads, to, m
        call.c.i[18], call.c.i[19], call.c.i[20], call.c.i[21] = ta, z.za_s, z.zb_s, ldy
        call.c.i[22] = i0


cdef int _run_q8_conv_gemm(const gk_call *c) noexcept nogil:
    cdef gk_q8_zero z
    z.za, z.zb = <const int *>c.p[5], <const int *>c.p[6]
    z.sa, z.sb = <const int *>c.p[7], <const int *>c.p[1]
    z.za_s, z.zb_s = c.i[19], c.i[20]
    return not gk_q8_conv_gemm(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3], c.i[4],
                               c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11],
                               c.i[12], c.i[13], <int>c.i[14], <int>c.i[16], <int *>c.p[1],
                               <unsigned char *>c.p[2], c.i[17], <const unsigned char *>c.p[3],
                               <int>c.i[18], &z, c.p[4], c.i[21], <const gk_qepilogue *>c.ep,
                               c.i[22], <int>c.i[15])


cdef int _run_qpack_b_conv(const gk_call *c) noexcept nogil:
    return not gk_qpack_b_conv(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3], c.i[4],
                               c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11],
                               c.i[12], c.i[13], <int>c.i[14], <short *>c.p[1], <int>c.i[15])


def q8_pack_b_conv(const unsigned char[:, :, ::1] x, int type, long kh, long kw, long sh,
                   long sw, long dh, long dw, long ph, long pw, long oh, long ow, int zx, int to,
                   int[::1] sums, unsigned char[::1] out, int threads):
    """out = im2col(x) (C*kh*kw x oh*ow, padding zx's byte) stored as `to` in the 8-bit GEMM's
    right layout; sums (None: not computed) the column sums of the stored values."""
    cdef long c = x.shape[0], h = x.shape[1], w = x.shape[2]
    _qtype(type)
    _qtype(to)
    _qgeometry("q8_pack_b_conv", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    if zx < (0 if type == Q_U8 else -128) or zx > (255 if type == Q_U8 else 127):
        raise ValueError(f"q8_pack_b_conv: zero point {zx} is not a value of the input's type")
    _q8_out("q8_pack_b_conv", out, oh * ow, c * kh * kw)
    cdef int *sp = _q8_sums("q8_pack_b_conv", sums, oh * ow)
    if c == 0 or h == 0 or w == 0 or oh == 0 or ow == 0:
        raise ValueError("q8_pack_b_conv: an empty input or output")
    cdef int ok
    with nogil:
        ok = gk_q8_pack_b_conv(&x[0, 0, 0], type, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh,
                               ow, zx, to, sp, &out[0], threads)
    if not ok:
        raise MemoryError("q8_pack_b_conv: no memory for a row buffer")
    cdef Call call
    if _tracing():
        call = _record(_run_q8_pack_b_conv, "q8_pack_b_conv", (x, sums, out))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&x[0, 0, 0], <void *>&out[0], <void *>sp
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = type, c, h, w, kh
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8], call.c.i[9] = kw, sh, sw, dh, dw
        call.c.i[10], call.c.i[11], call.c.i[12], call.c.i[13] = ph, pw, oh, ow
        call.c.i[14], call.c.i[15], call.c.i[16] = zx, threads, to


cdef int _run_q8_pack_b_conv(const gk_call *c) noexcept nogil:
    return not gk_q8_pack_b_conv(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3],
                                 c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10],
                                 c.i[11], c.i[12], c.i[13], <int>c.i[14], <int>c.i[16],
                                 <int *>c.p[2], <unsigned char *>c.p[1], <int>c.i[15])


def qdepthwise_work(long h, long w, long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                    long pw, long oh, long ow, int threads):
    """int32 words of work buffer qdepthwise needs with this many threads."""
    _qgeometry("qdepthwise_work", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    return max(threads, 1) * gk_qdepthwise_work(h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)


def qdepthwise(const unsigned char[:, :, :, ::1] x, int type, const short[::1] wt, long kh,
               long kw, long sh, long sw, long dh, long dw, long ph, long pw, int zx,
               QEpilogue ep, y, int[::1] work, int threads):
    """y[n, c] = epilogue(depthwise conv of x[n, c] - zx with wt[c] (kh*kw taps, minus the
    weight zero point)); y is N x C x oh x ow of the epilogue's type."""
    cdef long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    _qtype(type)
    if y.ndim != 4 or y.shape[0] != n or y.shape[1] != c or not y.flags.c_contiguous:
        raise ValueError("qdepthwise: y must be a C-contiguous N x C x oh x ow array")
    cdef long oh = y.shape[2], ow = y.shape[3]
    _qgeometry("qdepthwise", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    if wt.shape[0] < c * kh * kw:
        raise ValueError("qdepthwise: wt is too small")
    if kh * kw > QDW_MAX_TAPS:
        raise ValueError(f"qdepthwise: {kh * kw} taps (at most {QDW_MAX_TAPS})")
    ep.check(c, oh * ow)
    cdef unsigned char[:, ::1] yv = _qout("qdepthwise", y.reshape(n * c, oh * ow), ep, n * c,
                                          oh * ow)
    if n == 0 or c == 0 or oh == 0 or ow == 0:
        return
    if work.shape[0] < <Py_ssize_t>(max(threads, 1) * gk_qdepthwise_work(
            h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)):
        raise ValueError("qdepthwise: work is too small")
    with nogil:
        gk_qdepthwise(&x[0, 0, 0, 0], type, n, c, h, w, &wt[0], kh, kw, sh, sw, dh, dw, ph, pw,
                      oh, ow, zx, &ep.ep, &yv[0, 0], &work[0], threads)
    cdef Call call
    if _tracing():
        call = _record(_run_qdepthwise, "qdepthwise", (x, wt, yv, work, ep))
        call.c.p[0], call.c.p[1] = <void *>&x[0, 0, 0, 0], <void *>&wt[0]
        call.c.p[2], call.c.p[3] = <void *>&yv[0, 0], <void *>&work[0]
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = type, n, c, h, w
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8], call.c.i[9] = kh, kw, sh, sw, dh
        call.c.i[10], call.c.i[11], call.c.i[12], call.c.i[13], call.c.i[14] = dw, ph, pw, oh, ow
        call.c.i[15], call.c.i[16] = zx, threads


cdef int _run_qdepthwise(const gk_call *c) noexcept nogil:
    gk_qdepthwise(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3], c.i[4],
                  <const short *>c.p[1], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10],
                  c.i[11], c.i[12], c.i[13], c.i[14], <int>c.i[15], <const gk_qepilogue *>c.ep,
                  c.p[2], <int *>c.p[3], <int>c.i[16])
    return 0


def qdepthwise_nhwc(const unsigned char[:, :, :, ::1] x, int type, const short[::1] wt, long kh,
                    long kw, long sh, long sw, long dh, long dw, long ph, long pw, int zx,
                    QEpilogue ep, y, int[::1] work, int threads):
    """y[n, oy, ox, o] = epilogue(depthwise conv of NHWC x - zx (output channel o reads input
    channel o // mult) with wt[ky, kx, o] (minus the weight zero point)); y is N x oh x ow x
    C*mult of the epilogue's type; the epilogue's row is the output pixel, its column the
    channel. work: threads * C*mult int32s."""
    cdef long n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    _qtype(type)
    if y.ndim != 4 or y.shape[0] != n or not y.flags.c_contiguous or c == 0 or y.shape[3] % c:
        raise ValueError("qdepthwise_nhwc: y must be a C-contiguous N x oh x ow x C*mult array")
    cdef long oh = y.shape[1], ow = y.shape[2], cm = y.shape[3]
    _qgeometry("qdepthwise_nhwc", h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow)
    if wt.shape[0] < kh * kw * cm:
        raise ValueError("qdepthwise_nhwc: wt is too small")
    if kh * kw > QDW_NHWC_MAX_TAPS:
        raise ValueError(f"qdepthwise_nhwc: {kh * kw} taps (at most {QDW_NHWC_MAX_TAPS})")
    ep.check(n * oh * ow, cm)
    cdef unsigned char[:, ::1] yv = _qout("qdepthwise_nhwc", y.reshape(n * oh * ow, cm), ep,
                                          n * oh * ow, cm)
    if work.shape[0] < max(threads, 1) * cm:
        raise ValueError("qdepthwise_nhwc: work is too small")
    if n == 0 or cm == 0 or oh == 0 or ow == 0:
        return
    with nogil:
        gk_qdepthwise_nhwc(&x[0, 0, 0, 0], type, n, h, w, c, cm // c, &wt[0], kh, kw, sh, sw, dh,
                           dw, ph, pw, oh, ow, zx, &ep.ep, &yv[0, 0], &work[0], threads)
    cdef Call call
    if _tracing():
        call = _record(_run_qdepthwise_nhwc, "qdepthwise_nhwc", (x, wt, yv, work, ep))
        call.c.p[0], call.c.p[1] = <void *>&x[0, 0, 0, 0], <void *>&wt[0]
        call.c.p[2], call.c.p[3] = <void *>&yv[0, 0], <void *>&work[0]
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = type, n, h, w, c
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8], call.c.i[9] = cm // c, kh, kw, sh, sw
        call.c.i[10], call.c.i[11], call.c.i[12], call.c.i[13], call.c.i[14] = dh, dw, ph, pw, oh
        call.c.i[15], call.c.i[16], call.c.i[17] = ow, zx, threads


cdef int _run_qdepthwise_nhwc(const gk_call *c) noexcept nogil:
    gk_qdepthwise_nhwc(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3], c.i[4], c.i[5],
                       <const short *>c.p[1], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11],
                       c.i[12], c.i[13], c.i[14], c.i[15], <int>c.i[16],
                       <const gk_qepilogue *>c.ep, c.p[2], <int *>c.p[3], <int>c.i[17])
    return 0


cdef extern from "src/qconv_winograd.h" nogil:
    size_t gk_qwino_packed_b_size(long c, long t)
    size_t gk_qwino_work(long m, long oh, long ow, int threads)
    int gk_qconv_winograd(const void *x, int type, long c, long h, long w, long ph, long pw,
                          long oh, long ow, int zx, const short *up, long m,
                          const gk_qepilogue *ep, void *y, short *bp, int *work, int threads)


def qwino_sizes(long m, long c, long oh, long ow, int threads):
    """(int16s of transformed-input scratch, int32s of work) qconv_winograd needs."""
    cdef long t = ((oh + 1) // 2) * ((ow + 1) // 2)
    return gk_qwino_packed_b_size(c, t), gk_qwino_work(m, oh, ow, max(threads, 1))


def qconv_winograd(const unsigned char[:, :, ::1] x, int type, long ph, long pw, int zx,
                   const short[::1] up, long m, QEpilogue ep, y, short[::1] bp, int[::1] work,
                   int threads):
    """y (m x oh x ow, the epilogue's type) = epilogue(3x3, stride-1 conv of x - zx (C x H x W,
    zero padding ph/pw at the top/left) with the weights whose Winograd transform U' = G' g G'^T
    is packed in up: 16 packed-A matrices of m x C, matrix q holding U'[q // 4][q % 4]). The
    caller guarantees 255 * sum |w - zw| < 2^29 for every output channel (exactness)."""
    cdef long c = x.shape[0], h = x.shape[1], w = x.shape[2]
    _qtype(type)
    if y.ndim != 3 or y.shape[0] != m or not y.flags.c_contiguous:
        raise ValueError("qconv_winograd: y must be a C-contiguous m x oh x ow array")
    cdef long oh = y.shape[1], ow = y.shape[2]
    _qgeometry("qconv_winograd", h, w, 3, 3, 1, 1, 1, 1, ph, pw, oh, ow)
    if up.shape[0] < 16 * <Py_ssize_t>gk_qpacked_a_size(m, c):
        raise ValueError("qconv_winograd: up is too small")
    nb, nw = qwino_sizes(m, c, oh, ow, threads)
    if bp.shape[0] < nb or work.shape[0] < nw:
        raise ValueError("qconv_winograd: bp or work is too small")
    ep.check(m, oh * ow)
    cdef unsigned char[:, ::1] yv = _qout("qconv_winograd", y.reshape(m, oh * ow), ep, m,
                                          oh * ow)
    if m == 0 or c == 0 or oh == 0 or ow == 0:
        return
    cdef int ok
    with nogil:
        ok = gk_qconv_winograd(&x[0, 0, 0], type, c, h, w, ph, pw, oh, ow, zx, &up[0], m,
                               &ep.ep, &yv[0, 0], &bp[0], &work[0], threads)
    if not ok:
        raise MemoryError("qconv_winograd: no memory for a thread's scratch")
    cdef Call call
    if _tracing():
        call = _record(_run_qconv_winograd, "qconv_winograd", (x, up, yv, bp, work, ep))
        call.c.p[0], call.c.p[1] = <void *>&x[0, 0, 0], <void *>&up[0]
        call.c.p[2] = <void *>&yv[0, 0]
        call.c.p[3], call.c.p[4] = <void *>&bp[0], <void *>&work[0]
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = type, c, h, w, ph
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8], call.c.i[9] = pw, oh, ow, zx, m
        call.c.i[10] = threads


cdef int _run_qconv_winograd(const gk_call *c) noexcept nogil:
    return not gk_qconv_winograd(<const void *>c.p[0], <int>c.i[0], c.i[1], c.i[2], c.i[3],
                                 c.i[4], c.i[5], c.i[6], c.i[7], <int>c.i[8],
                                 <const short *>c.p[1], c.i[9], <const gk_qepilogue *>c.ep,
                                 c.p[2], <short *>c.p[3], <int *>c.p[4], <int>c.i[10])
