# Wrappers of src/bf16.h: the BF16 GEMM (tdpbf16ps on AMX, vdpbf16ps, or the bit-exact emulation
# of vdpbf16ps), its packing.

from libc.stdint cimport uint16_t, uint32_t

cdef extern from "src/bf16.h" nogil:
    int GK_BF16_NONE
    int GK_BF16_NATIVE
    int GK_BF16_EMULATED
    int gk_bf16_cpu_native()
    int gk_bf16_set_impl(int impl)
    int gk_bf16_impl()
    int gk_bf16_amx()
    int gk_bf16_amx_built()
    uint16_t gk_bf16_round(float x)
    size_t gk_bf16_packed_a_size(long m, long k)
    size_t gk_bf16_packed_b_size(long k, long n)
    void gk_bf16_pack_a(long m, long k, const float *a, long s_m, long s_k, uint32_t *out,
                        int threads)
    void gk_bf16_pack_b(long k, long n, const float *b, long s_k, long s_n, uint32_t *out,
                        int threads)
    void gk_bf16_pack_b_from_packed(long k, long n, const float *bp, uint32_t *out, int threads)
    int gk_bf16_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh,
                            long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                            uint32_t *out, int threads)
    void gk_bf16_gemm_packed(long m, long n, long k, const uint32_t *ap, const uint32_t *bp,
                             float *c, long ldc, const gk_epilogue *ep, int threads)
    int gk_bf16_gemm(long m, long n, long k, const float *a, long s_m, long s_k,
                     const uint32_t *bp, float *c, long ldc, const gk_epilogue *ep, int threads)
    long gk_bf16_conv_cpad(long c)
    int GK_BF16_CONV_STRIDE
    size_t gk_bf16_conv_planes_size(long c, long kh, long kw, long sh, long sw, long dh, long dw,
                                    long oh, long ow)
    int gk_bf16_conv_direct(const float *x, long c, long h, long w, long kh, long kw, long sh,
                            long sw, long dh, long dw, long ph, long pw, long oh, long ow, long m,
                            const uint32_t *wpk, uint32_t *planes, float *y,
                            const gk_epilogue *ep, int threads)
    int gk_bf16_conv_direct_fold(const float *x, long c, long h, long w, long kh, long kw,
                                 long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                                 long ow, long m, const uint32_t *wpk, uint32_t *planes, float *y,
                                 const gk_epilogue *ep, int threads)
    int gk_bf16_conv_direct_ex(const float *x, long c, long h, long w, long kh, long kw, long sh,
                               long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                               long m, const uint32_t *wpk, uint32_t *planes, float *y,
                               uint32_t *yp, long yp_top, long yp_left, long yp_hq, long yp_wq,
                               const gk_epilogue *ep, int threads)
    long gk_bf16_conv_form_plane(long hq, long wq)

    int gk_bf16_conv_set_fused(int on)
    int gk_bf16_conv_set_overlap(int on)
    int gk_bf16_gemm_set_gelu_tile(int on)

cdef extern from "src/amx.h" nogil:
    int GK_AMX_BF16
    int gk_amx_bf16()
    int gk_amx_set_enabled(int enabled)

BF16_IMPLS = ("none", "native", "emulated")


def bf16_cpu_native():
    """True if this CPU has AVX512_BF16 (vdpbf16ps)."""
    return bool(gk_bf16_cpu_native())


def bf16_set_impl(str impl):
    """Selects the pair step: "native" (vdpbf16ps; "none" is set where the CPU lacks it),
    "emulated" (the bit-exact emulation of the SIMD level in force) or "none"; returns the one
    now set."""
    if impl not in BF16_IMPLS:
        raise ValueError(f"bf16 implementation must be one of {BF16_IMPLS}, got {impl!r}")
    return BF16_IMPLS[gk_bf16_set_impl(BF16_IMPLS.index(impl))]


def bf16_impl():
    """The pair step in force: "none", "native" or "emulated"."""
    return BF16_IMPLS[gk_bf16_impl()]


def bf16_amx():
    """True if the bf16 GEMM now runs on AMX tiles (tdpbf16ps): "native" set, the CPU has
    AMX-BF16, Linux granted the tile state and GOSSAMER_AMX / bf16_set_amx did not turn it off."""
    return bool(gk_bf16_amx())


def bf16_amx_enabled():
    """True if the AMX-BF16 tiles may be used (CPU, Linux's tile permission, not switched off,
    kernels in this build): the "native" implementation then runs on them."""
    return bool(gk_amx_bf16() and gk_bf16_amx_built())


def bf16_set_amx(bint on):
    """Turns the AMX tile paths on (where supported) or off, for the bf16 kernels and the int8
    ones alike (amx.h's gk_amx_set_enabled), so vdpbf16ps stays reachable on an AMX CPU; returns
    whether the AMX-BF16 tiles are now on (the "native" implementation then runs on them)."""
    return bool(gk_amx_set_enabled(1 if on else 0) & GK_AMX_BF16 and gk_bf16_amx_built())


def bf16_round(const float[::1] x, uint16_t[::1] out):
    """out = the bfloat16 bits of x (nearest even; denormal results to signed zero)."""
    cdef Py_ssize_t i
    _need(out.shape[0] >= x.shape[0], "bf16_round: out is shorter than x")
    with nogil:
        for i in range(x.shape[0]):
            out[i] = gk_bf16_round(x[i])


def bf16_packed_a_size(long m, long k):
    return gk_bf16_packed_a_size(m, k)


def bf16_packed_b_size(long k, long n):
    return gk_bf16_packed_b_size(k, n)


cdef inline int _pairs(str name, str arg, const uint32_t[::1] v, size_t n) except -1:
    if v is None or <size_t>v.shape[0] < n:
        raise ValueError(f"{name}: {arg} holds fewer than {n} pairs")
    return 0


def bf16_pack_a(const float[:, :] a, uint32_t[::1] out, int threads):
    """out = A (M x K, any strides) rounded to bf16 pairs in 16-row panels (src/bf16.h)."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or k == 0:
        return
    _pairs("bf16_pack_a", "out", out, gk_bf16_packed_a_size(m, k))
    with nogil:
        gk_bf16_pack_a(m, k, &a[0, 0], a.strides[0] // 4, a.strides[1] // 4, &out[0], threads)


def bf16_pack_b(const float[:, :] b, uint32_t[::1] out, int threads):
    """out = B (K x N, any strides) rounded to bf16 pairs in 16-column panels."""
    cdef long k = b.shape[0], n = b.shape[1]
    if n == 0 or k == 0:
        return
    _pairs("bf16_pack_b", "out", out, gk_bf16_packed_b_size(k, n))
    with nogil:
        gk_bf16_pack_b(k, n, &b[0, 0], b.strides[0] // 4, b.strides[1] // 4, &out[0], threads)


def bf16_pack_b_from_packed(long k, long n, const float[::1] bp, uint32_t[::1] out, int threads):
    """out = B packed for the float32 GEMM (pack_b / pack_b_conv) as bf16 pairs."""
    if n <= 0 or k <= 0:
        return
    _vec("bf16_pack_b_from_packed", "bp", bp, gk_packed_b_size(k, n), False)
    _pairs("bf16_pack_b_from_packed", "out", out, gk_bf16_packed_b_size(k, n))
    with nogil:
        gk_bf16_pack_b_from_packed(k, n, &bp[0], &out[0], threads)


def bf16_pack_b_conv(const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh,
                     long dw, long ph, long pw, long oh, long ow, uint32_t[::1] out, int threads):
    """out = the im2col matrix of one image group x (C, H, W) as bf16 panels, with no float32
    panels in between; False (out not written) for kernels of more than 121 taps."""
    cdef int rc
    _geometry("bf16_pack_b_conv", kh, kw, sh, sw, dh, dw)
    _pads("bf16_pack_b_conv", ph, pw)
    if oh < 0 or ow < 0:
        raise ValueError("bf16_pack_b_conv: negative output size")
    if x.shape[0] == 0 or oh == 0 or ow == 0:
        return True
    _need(x.strides[1] == x.shape[2] * 4 and x.strides[0] == x.shape[1] * x.strides[1],
          "bf16_pack_b_conv: x is not C-contiguous")
    _pairs("bf16_pack_b_conv", "out", out, gk_bf16_packed_b_size(x.shape[0] * kh * kw, oh * ow))
    with nogil:
        rc = gk_bf16_pack_b_conv(&x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw,
                                 dh, dw, ph, pw, oh, ow, &out[0], threads)
    return rc == 0


cdef int _bf16_ready(str name) except -1:
    if gk_bf16_impl() == GK_BF16_NONE:
        raise RuntimeError(f"{name}: no bf16 implementation is set (bf16_set_impl)")
    return 0


def bf16_gemm_ep(long m, long n, long k, const uint32_t[::1] ap, const uint32_t[::1] bp,
                 float[:, ::1] c, Epilogue ep, int threads):
    """c = epilogue(A @ B), A and B packed as bf16 pairs, float32 accumulators."""
    if m == 0 or n == 0:
        return
    _bf16_ready("bf16_gemm_ep")
    _need(ep is not None, "bf16_gemm_ep: ep is None")
    _need(m > 0 and n > 0 and k >= 0, f"bf16_gemm_ep: negative size ({m}, {n}, {k})")
    _pairs("bf16_gemm_ep", "packed A", ap, gk_bf16_packed_a_size(m, k))
    _pairs("bf16_gemm_ep", "packed B", bp, gk_bf16_packed_b_size(k, n))
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"bf16_gemm_ep: c is smaller than {m} x {n}")
    ep.check("bf16_gemm_ep", m, n, 1, 0)
    with nogil:
        gk_bf16_gemm_packed(m, n, k, &ap[0], &bp[0], &c[0, 0], c.strides[0] // 4, &ep.ep,
                            threads)


def bf16_gemm_a(const float[:, :] a, const uint32_t[::1] bp, long n, float[:, ::1] c,
                Epilogue ep, int threads):
    """c = epilogue(A @ B): A (M x K, any strides) rounded and packed by this call, B packed."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or n == 0:
        return
    _bf16_ready("bf16_gemm_a")
    _need(ep is not None, "bf16_gemm_a: ep is None")
    _need(n > 0, "bf16_gemm_a: negative n")
    _pairs("bf16_gemm_a", "packed B", bp, gk_bf16_packed_b_size(k, n))
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"bf16_gemm_a: c is smaller than {m} x {n}")
    ep.check("bf16_gemm_a", m, n, 1, 0)
    cdef const float *pa = &a[0, 0] if k > 0 else NULL
    cdef int rc
    with nogil:
        rc = gk_bf16_gemm(m, n, k, pa, a.strides[0] // 4, a.strides[1] // 4, &bp[0], &c[0, 0],
                          c.strides[0] // 4, &ep.ep, threads)
    if rc == -1:
        raise MemoryError(f"bf16_gemm_a: no memory for the packed {m} x {k} A")
    if rc:
        raise RuntimeError("bf16_gemm_a: no bf16 implementation is set (bf16_set_impl)")


def bf16_gemm_batched(const float[:, :, :] a, const float[:, :, :] b, float[:, :, ::1] c,
                      Epilogue ep, uint32_t[::1] bp, int threads):
    """c[i] = epilogue(A[i or 0] @ B[i]) for each matrix i of the batch B (batch x K x N, any
    strides): each B[i] rounded and packed into bp (room for bf16_packed_b_size(K, N) pairs, reused
    from one matrix to the next), each A (batch or 1 x M x K, any strides) by gk_bf16_gemm; one
    call for what was one Python call per matrix (attention's per-head products). The bits are
    those of bf16_gemm_a per matrix."""
    cdef long batch = b.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2], i
    cdef long sa = 0
    if batch == 0 or m == 0 or n == 0:
        return
    _bf16_ready("bf16_gemm_batched")
    _need(ep is not None, "bf16_gemm_batched: ep is None")
    _need(k > 0 and b.shape[1] == k, f"bf16_gemm_batched: A's K {k} is not B's {b.shape[1]}")
    _need(a.shape[0] == 1 or a.shape[0] == batch,
          f"bf16_gemm_batched: {a.shape[0]} A matrices for {batch} B matrices")
    if c is None or c.shape[0] < batch or c.shape[1] < m or c.shape[2] < n:
        raise ValueError(f"bf16_gemm_batched: c is smaller than {batch} x {m} x {n}")
    _pairs("bf16_gemm_batched", "bp", bp, gk_bf16_packed_b_size(k, n))
    ep.check("bf16_gemm_batched", m, n, 1, 0)
    if a.shape[0] == batch:
        sa = a.strides[0] // 4
    cdef const float *pa = &a[0, 0, 0]
    cdef const float *pb = &b[0, 0, 0]
    cdef long sb = b.strides[0] // 4, sbk = b.strides[1] // 4, sbn = b.strides[2] // 4
    cdef long sam = a.strides[1] // 4, sak = a.strides[2] // 4, sc = c.strides[0] // 4
    cdef long ldc = c.strides[1] // 4
    cdef int rc = 0
    with nogil:
        for i in range(batch):
            gk_bf16_pack_b(k, n, pb + i * sb, sbk, sbn, &bp[0], threads)
            rc = gk_bf16_gemm(m, n, k, pa + i * sa, sam, sak, &bp[0], &c[0, 0, 0] + i * sc, ldc,
                              &ep.ep, threads)
            if rc:
                break
    if rc == -1:
        raise MemoryError(f"bf16_gemm_batched: no memory for the packed {m} x {k} A")
    if rc:
        raise RuntimeError("bf16_gemm_batched: no bf16 implementation is set (bf16_set_impl)")


def bf16_conv_cpad(long c):
    """Input channels of the direct conv's weights and planes: c rounded up to 32."""
    return gk_bf16_conv_cpad(c)


def bf16_conv_planes_size(long c, long kh, long kw, long sh, long sw, long dh, long dw, long oh,
                          long ow):
    """Pairs of the direct conv's pair planes (its scratch) for c channels; 0 for a geometry it
    does not take (a stride over bf16_conv_max_stride(), over 121 taps, a size below 1)."""
    return gk_bf16_conv_planes_size(c, kh, kw, sh, sw, dh, dw, oh, ow)


def bf16_conv_max_stride():
    """The largest stride the direct conv takes."""
    return GK_BF16_CONV_STRIDE


def bf16_conv_set_fused(on=None):
    """Whether the direct conv's tiles write y with the epilogue themselves (True, the default)
    or through a tile buffer, a copy and the epilogue's own pass (False: the same bits; kept for
    benchmarks and the tests' comparison). None only asks. Returns the setting before."""
    return bool(gk_bf16_conv_set_fused(-1 if on is None else (1 if on else 0)))


def bf16_conv_set_overlap(on=None):
    """Whether the tiles that write y themselves store each tile's output while the next tile's
    products run (True, the default) or after each tile (False: the same bits; kept for
    benchmarks and the tests' comparison). None only asks. Returns the setting before."""
    return bool(gk_bf16_conv_set_overlap(-1 if on is None else (1 if on else 0)))


def bf16_gemm_set_gelu_tile(on=None):
    """Whether the AMX GEMM's tiles apply a Gelu epilogue in registers on the way to C (True,
    the default) or over each stored tile with the float32 epilogue's pass (False: the same
    bits; kept for benchmarks and the tests' comparison). None only asks. Returns the setting
    before."""
    return bool(gk_bf16_gemm_set_gelu_tile(-1 if on is None else (1 if on else 0)))


cdef int _direct_geometry(str name, Epilogue ep, long kh, long kw, long sh, long sw, long dh,
                          long dw, long ph, long pw, long oh, long ow, long taps) except -1:
    """The direct convs' common checks: an epilogue, the window, the pads, the output size and
    at most 121 taps (`taps`: the kernel's, or a folded stem's kh)."""
    _need(ep is not None, f"{name}: ep is None")
    _geometry(name, kh, kw, sh, sw, dh, dw)
    _pads(name, ph, pw)
    _need(oh >= 0 and ow >= 0, f"{name}: negative output size")
    _need(taps <= 121, f"{name}: more than 121 taps")
    return 0


cdef object _direct_done(str name, int rc):
    """A direct conv's return code: True (y written), False (the AMX tiles not in use), or the
    error it stands for."""
    if rc == -1:
        raise MemoryError(f"{name}: no memory for its buffers")
    if rc == -3:
        raise ValueError(f"{name}: negative size, stride or taps out of range")
    return rc == 0


def bf16_conv_direct(const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh,
                     long dw, long ph, long pw, long oh, long ow, const uint32_t[::1] wpk,
                     uint32_t[::1] planes, float[:, ::1] y, Epilogue ep, int threads):
    """y (M x oh*ow) = epilogue(conv(x (C, H, W), W)) of one group on the AMX tiles with no
    im2col (src/bf16.h): wpk = bf16_pack_a of W'[M, (ky*kw + kx)*Cp + ci] (Cp =
    bf16_conv_cpad(C), zero past C); planes: scratch of bf16_conv_planes_size pairs. False (y
    not written) where the AMX tiles are not in use."""
    cdef long m = y.shape[0], c = x.shape[0], cp = gk_bf16_conv_cpad(x.shape[0])
    cdef size_t need
    cdef int rc
    _direct_geometry("bf16_conv_direct", ep, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, kh * kw)
    _need(sh <= GK_BF16_CONV_STRIDE and sw <= GK_BF16_CONV_STRIDE,
          f"bf16_conv_direct: strides over {GK_BF16_CONV_STRIDE} are not taken")
    _need(y.shape[1] == oh * ow, f"bf16_conv_direct: y has {y.shape[1]} columns, not {oh * ow}")
    if m == 0 or oh == 0 or ow == 0:
        return True
    _pairs("bf16_conv_direct", "wpk", wpk, gk_bf16_packed_a_size(m, kh * kw * cp))
    need = gk_bf16_conv_planes_size(c, kh, kw, sh, sw, dh, dw, oh, ow)
    _pairs("bf16_conv_direct", "planes", planes, need)
    ep.check("bf16_conv_direct", m, oh * ow, 1, 0)
    with nogil:
        rc = gk_bf16_conv_direct(&x[0, 0, 0], c, x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw,
                                 ph, pw, oh, ow, m, &wpk[0], &planes[0], &y[0, 0], &ep.ep,
                                 threads)
    return _direct_done("bf16_conv_direct", rc)


def bf16_conv_direct_fold(const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh,
                          long dw, long ph, long pw, long oh, long ow, const uint32_t[::1] wpk,
                          uint32_t[::1] planes, float[:, ::1] y, Epilogue ep, int threads):
    """bf16_conv_direct of a stem with its kernel columns folded into channels (src/bf16.h:
    gk_bf16_conv_direct_fold): y (M x oh*ow) = epilogue(conv(x (C, H, W), W)) computed as the
    direct conv of C*kw folded channels with a kh x 1 kernel; wpk = bf16_pack_a of
    W'[M, ky*Cp + ci*kw + kx] (Cp = bf16_conv_cpad(C*kw)); planes: bf16_conv_planes_size(C*kw,
    kh, 1, sh, 1, dh, 1, oh, ow) pairs. False (y not written) where the AMX tiles are not in
    use."""
    cdef long m = y.shape[0], c = x.shape[0], cf, cp
    cdef size_t need
    cdef int rc
    _direct_geometry("bf16_conv_direct_fold", ep, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, kh)
    _need(c <= (1 << 20) and kw <= (1 << 20), "bf16_conv_direct_fold: too many folded channels")
    _need(sh <= GK_BF16_CONV_STRIDE,
          f"bf16_conv_direct_fold: a row stride over {GK_BF16_CONV_STRIDE} is not taken")
    _need(y.shape[1] == oh * ow,
          f"bf16_conv_direct_fold: y has {y.shape[1]} columns, not {oh * ow}")
    if m == 0 or oh == 0 or ow == 0:
        return True
    cf = c * kw
    cp = gk_bf16_conv_cpad(cf)
    _pairs("bf16_conv_direct_fold", "wpk", wpk, gk_bf16_packed_a_size(m, kh * cp))
    need = gk_bf16_conv_planes_size(cf, kh, 1, sh, 1, dh, 1, oh, ow)
    _pairs("bf16_conv_direct_fold", "planes", planes, need)
    ep.check("bf16_conv_direct_fold", m, oh * ow, 1, 0)
    with nogil:
        rc = gk_bf16_conv_direct_fold(&x[0, 0, 0], c, x.shape[1], x.shape[2], kh, kw, sh, sw,
                                      dh, dw, ph, pw, oh, ow, m, &wpk[0], &planes[0], &y[0, 0],
                                      &ep.ep, threads)
    return _direct_done("bf16_conv_direct_fold", rc)


def bf16_conv_form_plane(long hq, long wq):
    """Pairs per plane of the bf16 hand-off form of hq x wq (src/bf16.h): a conv of C output
    channels writes C / 2 such planes."""
    _need(hq >= 0 and wq >= 0, "bf16_conv_form_plane: negative size")
    return gk_bf16_conv_form_plane(hq, wq)


def bf16_conv_direct_ex(x, long c, long h, long w, long kh, long kw, long sh, long sw, long dh,
                        long dw, long ph, long pw, long oh, long ow, long m,
                        const uint32_t[::1] wpk, uint32_t[::1] planes, y, yp, long yp_top,
                        long yp_left, long yp_hq, long yp_wq, Epilogue ep, int threads):
    """bf16_conv_direct with the bf16 hand-off (src/bf16.h: gk_bf16_conv_direct_ex): x (C, H, W)
    float32, or None where planes already hold the input in the hand-off form of this conv's
    geometry (stride 1, dilation 1; c, h, w its shape); the output to y (M x oh*ow float32), or,
    with y None, to yp (uint32) as the hand-off form of yp_hq x yp_wq padded by yp_top rows and
    yp_left columns (M a multiple of 32, no activation). False (nothing written) where the AMX
    tiles are not in use."""
    cdef const float[:, :, ::1] xv
    cdef float[:, ::1] yv
    cdef uint32_t[::1] ypv
    cdef const float *xp = NULL
    cdef float *y_ptr = NULL
    cdef uint32_t *yp_ptr = NULL
    cdef size_t need
    cdef int rc
    name = "bf16_conv_direct_ex"
    _direct_geometry(name, ep, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, kh * kw)
    _need(sh <= GK_BF16_CONV_STRIDE and sw <= GK_BF16_CONV_STRIDE,
          f"{name}: strides over {GK_BF16_CONV_STRIDE} are not taken")
    _need(c >= 0 and h >= 0 and w >= 0 and m >= 0, f"{name}: negative size")
    _need((y is None) != (yp is None), f"{name}: give exactly one of y and yp")
    if x is None:
        _need(sh == 1 and sw == 1 and dh == 1 and dw == 1,
              f"{name}: a hand-off input needs stride 1 and dilation 1")
    else:
        xv = x
        _need(xv.shape[0] == c and xv.shape[1] == h and xv.shape[2] == w,
              f"{name}: x is not ({c}, {h}, {w})")
    if y is not None:
        yv = y
        _need(yv.shape[0] == m and yv.shape[1] == oh * ow, f"{name}: y is not ({m}, {oh * ow})")
    else:
        ypv = yp
        _need(m % 32 == 0, f"{name}: the hand-off form needs output channels in 32s, not {m}")
        _need(yp_top >= 0 and yp_left >= 0 and yp_hq >= yp_top + oh and yp_wq >= yp_left + ow,
              f"{name}: the form {yp_hq} x {yp_wq} padded by ({yp_top}, {yp_left}) does not "
              f"hold {oh} x {ow}")
        _need(ep.ep.act == 0, f"{name}: the hand-off form takes no activation")
    if m == 0 or oh == 0 or ow == 0:
        return True
    _pairs(name, "wpk", wpk, gk_bf16_packed_a_size(m, kh * kw * gk_bf16_conv_cpad(c)))
    _pairs(name, "planes", planes, gk_bf16_conv_planes_size(c, kh, kw, sh, sw, dh, dw, oh, ow))
    if yp is not None:
        _pairs(name, "yp", ypv, (m // 2) * gk_bf16_conv_form_plane(yp_hq, yp_wq))
        yp_ptr = &ypv[0]
    else:
        y_ptr = &yv[0, 0]
    if x is not None and c > 0 and h > 0 and w > 0:
        xp = &xv[0, 0, 0]
    elif x is not None:
        return True
    ep.check(name, m, oh * ow, 1, 0)
    with nogil:
        rc = gk_bf16_conv_direct_ex(xp, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, m,
                                    &wpk[0], &planes[0], y_ptr, yp_ptr, yp_top, yp_left, yp_hq,
                                    yp_wq, &ep.ep, threads)
    return _direct_done(name, rc)


# ---- the blocked-layout (NCHW8c) 1x1 conv on AMX tiles (src/bf16_nchwc.h) ----------------------

cdef extern from "src/bf16_nchwc.h" nogil:
    int gk_bf16_nchwc_conv1x1(const float *x, long n, long c, long hw, const uint32_t *wpk,
                              long m, const float *bias, const float *z, float lo, float hi,
                              float *y, int threads)


def bf16_nchwc_conv1x1(const float[::1] x, long n, long c, long hw, const uint32_t[::1] wpk,
                       long m, const float[::1] bias, const float[::1] z, float lo, float hi,
                       float[::1] y, int threads):
    """y (n, m/8, hw, 8) = clip(x (n, c/8, hw, 8) @ W^T + bias + z, lo, hi) on the AMX tiles;
    wpk = bf16_pack_b of W^T (c x m); bias (m) and z (y's layout) may be None. False (y not
    written) where the AMX tiles are not in use."""
    cdef int rc
    if c <= 0 or c % 8 or m <= 0 or m % 8:
        raise ValueError(f"bf16_nchwc_conv1x1: channels {c}, {m}: not positive multiples of 8")
    if n < 0 or hw < 0:
        raise ValueError("bf16_nchwc_conv1x1: negative size")
    _vec("bf16_nchwc_conv1x1", "x", x, n * c * hw, False)
    _pairs("bf16_nchwc_conv1x1", "wpk", wpk, gk_bf16_packed_b_size(c, m))
    _vec("bf16_nchwc_conv1x1", "bias", bias, m, True)
    _vec("bf16_nchwc_conv1x1", "z", z, n * m * hw, True)
    _vec("bf16_nchwc_conv1x1", "y", y, n * m * hw, False)
    if n * hw == 0:
        return True
    with nogil:
        rc = gk_bf16_nchwc_conv1x1(ptr(x), n, c, hw, &wpk[0], m, optr(bias), optr(z), lo, hi,
                                   &y[0], threads)
    return _direct_done("bf16_nchwc_conv1x1", rc)


# ---- pixel blocks: bf16 activations pixel-major in 32-channel blocks (src/bf16_pix.h) ---------

cdef extern from "src/bf16_pix.h" nogil:
    ctypedef struct gk_bf16_pix_form:
        long c, h, w, top, left, hp, wp
    long gk_bf16_pix_block(const gk_bf16_pix_form *f)
    size_t gk_bf16_pix_size(const gk_bf16_pix_form *f)
    int gk_bf16_pix_from_nchw(const float *x, const gk_bf16_pix_form *f, uint32_t *out,
                              int threads)
    int gk_bf16_pix_to_nchw(const uint32_t *inp, const gk_bf16_pix_form *f, float *y,
                            int threads)
    int GK_PIX_STRIDE
    int gk_bf16_pix_conv(const uint32_t *x, const gk_bf16_pix_form *xf, long s, long kh, long kw,
                         long ph, long pw, long oh, long ow, long m, const uint32_t *wpk,
                         const float *bias, const uint32_t *z, const gk_bf16_pix_form *zf,
                         float lo, float hi, uint32_t *yp, const gk_bf16_pix_form *yf, float *y,
                         int threads)
    size_t gk_bf16_pix_phases_size(const gk_bf16_pix_form *f, long s)
    int gk_bf16_pix_phases(const uint32_t *inp, const gk_bf16_pix_form *f, long s, uint32_t *out,
                           int threads)
    int gk_bf16_pix_set_overlap(int on)
    int gk_bf16_pix_maxpool(const uint32_t *inp, const gk_bf16_pix_form *xf, long kh, long kw,
                            long s, long ph, long pw, uint32_t *out, const gk_bf16_pix_form *yf,
                            int threads)
    int gk_bf16_pix_expand_form(long c, long h, long kh, long kw, long s, long ph, long oh,
                                long ow, gk_bf16_pix_form *f)
    int gk_bf16_pix_expand(const float *x, long c, long h, long w, long kh, long kw, long s,
                           long sw, long dw, long ph, long pw, long oh, long ow, uint32_t *out,
                           int threads)
    int gk_bf16_pix_conv_split(const uint32_t *x, const gk_bf16_pix_form *xf, long s, long kh,
                               long kw, long ph, long pw, long oh, long ow, long m,
                               const uint32_t *wpk, const float *bias, const uint32_t *z,
                               const gk_bf16_pix_form *zf, float lo, float hi, uint32_t *yp,
                               const gk_bf16_pix_form *yf, long ys, float *y, int threads)


cdef gk_bf16_pix_form _pix_form(str name, str arg, form) except *:
    """A form given as (c, h, w, top, left, hp, wp), checked: the image inside its grid."""
    cdef gk_bf16_pix_form f
    _need(len(form) == 7, f"{name}: {arg} is not (c, h, w, top, left, hp, wp)")
    f.c, f.h, f.w, f.top, f.left, f.hp, f.wp = [int(v) for v in form]
    _need(max(f.c, f.h, f.w, f.hp, f.wp) <= (1 << 24), f"{name}: {arg} is too large")
    _need(gk_bf16_pix_block(&f) > 0, f"{name}: {arg} {tuple(form)}: the image is not inside its grid")
    return f


def bf16_pix_size(form):
    """Pairs (uint32) of a pixel-blocks form (c, h, w, top, left, hp, wp) (src/bf16_pix.h):
    ceil(c / 32) blocks of an hp x wp grid and its tail, 16 pairs a pixel."""
    cdef gk_bf16_pix_form f = _pix_form("bf16_pix_size", "form", form)
    return gk_bf16_pix_size(&f)


def bf16_pix_block(form):
    """Pixels per block of a pixel-blocks form (the grid and its tail)."""
    cdef gk_bf16_pix_form f = _pix_form("bf16_pix_block", "form", form)
    return gk_bf16_pix_block(&f)


def bf16_pix_from_nchw(const float[:, :, ::1] x, form, uint32_t[::1] out, int threads):
    """x (C, H, W) float32 -> out in the pixel-blocks form (C, H, W, top, left, hp, wp), all of
    it written (zeros around the image). False (nothing written) without AVX512_BF16."""
    cdef gk_bf16_pix_form f = _pix_form("bf16_pix_from_nchw", "form", form)
    cdef int rc
    _need(x.shape[0] == f.c and x.shape[1] == f.h and x.shape[2] == f.w,
          f"bf16_pix_from_nchw: x is not ({f.c}, {f.h}, {f.w})")
    _pairs("bf16_pix_from_nchw", "out", out, gk_bf16_pix_size(&f))
    cdef const float *xp = &x[0, 0, 0] if f.c * f.h * f.w > 0 else NULL
    with nogil:
        rc = gk_bf16_pix_from_nchw(xp, &f, &out[0], threads)
    return _direct_done("bf16_pix_from_nchw", rc)


def bf16_pix_to_nchw(const uint32_t[::1] inp, form, float[:, :, ::1] y, int threads):
    """The pixel-blocks form (C, H, W, ...) in inp -> y (C, H, W) float32 (exact). False
    (nothing written) without AVX512_BF16."""
    cdef gk_bf16_pix_form f = _pix_form("bf16_pix_to_nchw", "form", form)
    cdef int rc
    _need(y.shape[0] == f.c and y.shape[1] == f.h and y.shape[2] == f.w,
          f"bf16_pix_to_nchw: y is not ({f.c}, {f.h}, {f.w})")
    _pairs("bf16_pix_to_nchw", "inp", inp, gk_bf16_pix_size(&f))
    if f.c * f.h * f.w == 0:
        return True
    with nogil:
        rc = gk_bf16_pix_to_nchw(&inp[0], &f, &y[0, 0, 0], threads)
    return _direct_done("bf16_pix_to_nchw", rc)


def bf16_pix_phases_size(form, long s):
    """Pairs of the phase split of a pixel-blocks form for a stride-s conv (src/bf16_pix.h)."""
    cdef gk_bf16_pix_form f = _pix_form("bf16_pix_phases_size", "form", form)
    _need(2 <= s <= GK_PIX_STRIDE, f"bf16_pix_phases_size: stride {s} (2 to {GK_PIX_STRIDE})")
    return gk_bf16_pix_phases_size(&f, s)


def bf16_pix_phases(const uint32_t[::1] inp, form, long s, uint32_t[::1] out, int threads):
    """out = the phase split of the pixel blocks in inp (form) for a stride-s conv: s * s phase
    grids per block (src/bf16_pix.h, gk_bf16_pix_phases)."""
    name = "bf16_pix_phases"
    cdef gk_bf16_pix_form f = _pix_form(name, "form", form)
    _need(2 <= s <= GK_PIX_STRIDE, f"{name}: stride {s} (2 to {GK_PIX_STRIDE})")
    _pairs(name, "inp", inp, gk_bf16_pix_size(&f))
    _pairs(name, "out", out, gk_bf16_pix_phases_size(&f, s))
    if f.c == 0:
        return True
    with nogil:
        gk_bf16_pix_phases(&inp[0], &f, s, &out[0], threads)
    return True


def bf16_pix_set_overlap(on=None):
    """Whether the pixel-blocks conv stores each strip's output while the next strip's products
    run (True, the default) or after each strip (False: the same bits; the A/B knob). None only
    asks. Returns the setting before."""
    return bool(gk_bf16_pix_set_overlap(-1 if on is None else (1 if on else 0)))


cdef class PixConvCall:
    """One bf16_pix_conv call with its arguments checked and its buffers held (bf16_pix_conv_call):
    run() is the C call alone, for a caller that makes the same call again (a chain's replay)."""
    cdef gk_bf16_pix_form xf, zf, yf
    cdef const uint32_t *x
    cdef const uint32_t *wpk
    cdef const uint32_t *z
    cdef const float *bias
    cdef uint32_t *yp
    cdef float *y
    cdef long s, kh, kw, ph, pw, oh, ow, m, ys
    cdef float lo, hi
    cdef int threads
    cdef bint empty  # nothing to write (a float32 output of no elements)
    cdef object keep  # the buffers behind the pointers

    def __cinit__(self):
        self.empty = True

    def run(self):
        """The call: True (written) or False (the AMX tiles not in use), as bf16_pix_conv."""
        cdef int rc
        if self.empty:
            return True
        with nogil:
            rc = gk_bf16_pix_conv_split(self.x, &self.xf, self.s, self.kh, self.kw, self.ph,
                                        self.pw, self.oh, self.ow, self.m, self.wpk, self.bias,
                                        self.z, &self.zf, self.lo, self.hi, self.yp, &self.yf,
                                        self.ys, self.y, self.threads)
        return _direct_done("bf16_pix_conv", rc)


def bf16_pix_conv(const uint32_t[::1] x, xform, long s, long kh, long kw, long ph, long pw,
                  long oh, long ow, long m, const uint32_t[::1] wpk, const float[::1] bias, z,
                  zform, float lo, float hi, yp, yform, y, int threads, long ys=1):
    """The direct conv on AMX tiles of pixel blocks (src/bf16_pix.h, gk_bf16_pix_conv): x in
    form xform (C, H, W, top, left, hp, wp) (stride s 1) or its phase split (s > 1:
    bf16_pix_phases), a kh x kw kernel, pads ph (top), pw (left), output oh x ow of m channels:
    clip(conv + bias + z, lo, hi), z (None: none) in form
    zform; to yp (uint32) in form yform, or, yp None, to y (m, oh * ow) float32. wpk =
    bf16_pack_b of W' (kh kw Cp x m, W'[(ky kw + kx) Cp + ci, o] = W[o, ci, ky, kx], Cp = C
    rounded up to 32). ys > 1: yp is instead the phase split of yform for a stride-ys conv
    (bf16_pix_phases's layout: the same bits as the form then bf16_pix_phases). False (nothing
    written) where the AMX tiles are not in use."""
    return bf16_pix_conv_call(x, xform, s, kh, kw, ph, pw, oh, ow, m, wpk, bias, z, zform, lo,
                              hi, yp, yform, y, threads, ys).run()


def bf16_pix_conv_call(const uint32_t[::1] x, xform, long s, long kh, long kw, long ph, long pw,
                       long oh, long ow, long m, const uint32_t[::1] wpk, const float[::1] bias, z,
                       zform, float lo, float hi, yp, yform, y, int threads, long ys=1):
    """bf16_pix_conv's arguments checked and held: a PixConvCall whose run() makes the call (the
    buffers must not change size or place while it is kept)."""
    name = "bf16_pix_conv"
    cdef gk_bf16_pix_form xf = _pix_form(name, "xform", xform)
    cdef gk_bf16_pix_form zf, yf
    cdef const uint32_t[::1] zv
    cdef uint32_t[::1] ypv
    cdef float[:, ::1] yv
    cdef const uint32_t *z_ptr = NULL
    cdef uint32_t *yp_ptr = NULL
    cdef float *y_ptr = NULL
    cdef long cp
    cdef PixConvCall call = PixConvCall()
    _need(0 < kh <= 121 and 0 < kw <= 121 and kh * kw <= 121, f"{name}: more than 121 taps")
    _pads(name, ph, pw)
    _need(oh >= 0 and ow >= 0 and m >= 0, f"{name}: negative size")
    _need((y is None) != (yp is None), f"{name}: give exactly one of y and yp")
    _need(xf.c > 0, f"{name}: no input channels")
    _need(1 <= s <= GK_PIX_STRIDE, f"{name}: stride {s} (1 to {GK_PIX_STRIDE})")
    _pairs(name, "x", x, gk_bf16_pix_size(&xf) if s == 1 else gk_bf16_pix_phases_size(&xf, s))
    cp = (xf.c + 31) // 32 * 32
    _pairs(name, "wpk", wpk, gk_bf16_packed_b_size(kh * kw * cp, m))
    _vec(name, "bias", bias, m, True)
    if z is not None:
        zf = _pix_form(name, "zform", zform)
        _need(zf.c == m and zf.h == oh and zf.w == ow, f"{name}: z's image is not {m} x {oh} x {ow}")
        zv = z
        _pairs(name, "z", zv, gk_bf16_pix_size(&zf))
        z_ptr = &zv[0]
    if yp is not None:
        yf = _pix_form(name, "yform", yform)
        _need(yf.c == m and yf.h == oh and yf.w == ow, f"{name}: yp's image is not {m} x {oh} x {ow}")
        ypv = yp
        _need(1 <= ys <= GK_PIX_STRIDE, f"{name}: ys {ys} (1 to {GK_PIX_STRIDE})")
        _pairs(name, "yp", ypv, gk_bf16_pix_size(&yf) if ys == 1 else
               gk_bf16_pix_phases_size(&yf, ys))
        yp_ptr = &ypv[0]
    else:
        _need(ys == 1, f"{name}: a phase split (ys {ys}) needs yp")
        yv = y
        _need(yv.shape[0] == m and yv.shape[1] == oh * ow, f"{name}: y is not ({m}, {oh * ow})")
        if m * oh * ow == 0:
            return call
        y_ptr = &yv[0, 0]
    call.xf = xf
    call.zf = zf
    call.yf = yf
    call.x = &x[0]
    call.wpk = &wpk[0]
    call.bias = optr(bias)
    call.z = z_ptr
    call.yp = yp_ptr
    call.y = y_ptr
    call.s = s
    call.kh = kh
    call.kw = kw
    call.ph = ph
    call.pw = pw
    call.oh = oh
    call.ow = ow
    call.m = m
    call.lo = lo
    call.hi = hi
    call.ys = ys
    call.threads = threads
    call.keep = (x, wpk, bias, z, yp, y)
    call.empty = False
    return call


cdef gk_bf16_pix_form _expand_form(str name, long c, long h, long kh, long kw, long s, long ph,
                                   long oh, long ow) except *:
    cdef gk_bf16_pix_form f
    _need(max(c, h, kh, kw, oh, ow) <= (1 << 24), f"{name}: too large")
    _need(gk_bf16_pix_expand_form(c, h, kh, kw, s, ph, oh, ow, &f) == 0,
          f"{name}: c {c} x kw {kw} over 32 channels, stride {s} (1 to {GK_PIX_STRIDE}), or a "
          f"negative size or pad")
    return f


def bf16_pix_expand_form(long c, long h, long kh, long kw, long s, long ph, long oh, long ow):
    """The pixel-blocks form (c kw, h, w, top, left, hp, wp) whose stride-s split holds a stem's
    expansion (src/bf16_pix.h, gk_bf16_pix_expand_form): the stem (c channels, kh x kw, row stride
    s, top pad ph, output oh x ow) is bf16_pix_conv of it with a kh x 1 kernel, pads (ph, 0)."""
    cdef gk_bf16_pix_form f = _expand_form("bf16_pix_expand_form", c, h, kh, kw, s, ph, oh, ow)
    return (f.c, f.h, f.w, f.top, f.left, f.hp, f.wp)


def bf16_pix_expand(const float[:, :, ::1] x, long kh, long kw, long s, long sw, long dw, long ph,
                    long pw, long oh, long ow, uint32_t[::1] out, int threads):
    """x (C, H, W) float32 -> out: a stem's expansion, x[ci][y][sw xx + dw kx - pw] at channel
    ci kw + kx of pixel (y, xx), rounded to bf16, in the form bf16_pix_expand_form gives (s 1) or
    the row phases of its split (s > 1; bf16_pix_phases_size pairs; the odd-column phases, which
    the conv does not read, unwritten). False (nothing written) without AVX512_BF16."""
    name = "bf16_pix_expand"
    cdef long c = x.shape[0], h = x.shape[1], w = x.shape[2]
    cdef gk_bf16_pix_form f = _expand_form(name, c, h, kh, kw, s, ph, oh, ow)
    cdef int rc
    _need(w > 0 and sw > 0 and dw > 0 and pw >= 0 and max(sw, dw, pw, w) <= (1 << 24),
          f"{name}: an empty row, a stride or dilation below 1, a negative pad")
    _pairs(name, "out", out, gk_bf16_pix_size(&f) if s == 1 else gk_bf16_pix_phases_size(&f, s))
    with nogil:
        rc = gk_bf16_pix_expand(&x[0, 0, 0], c, h, w, kh, kw, s, sw, dw, ph, pw, oh, ow, &out[0],
                                threads)
    return _direct_done(name, rc)


def bf16_pix_maxpool(const uint32_t[::1] inp, xform, long kh, long kw, long s, long ph, long pw,
                     uint32_t[::1] out, yform, int threads):
    """MaxPool (kh x kw, stride s, pads ph top, pw left) of the pixel blocks in inp (form xform)
    into out (form yform, whose image is the output; all of it written): the max over each
    window's image pixels, the bits of the float32 pool then rounded (src/bf16_pix.h). False
    (nothing written) without AVX512_BF16."""
    name = "bf16_pix_maxpool"
    cdef gk_bf16_pix_form xf = _pix_form(name, "xform", xform)
    cdef gk_bf16_pix_form yf = _pix_form(name, "yform", yform)
    cdef int rc
    _need(xf.c == yf.c and xf.c > 0, f"{name}: xform has {xf.c} channels, yform {yf.c}")
    _need(kh > 0 and kw > 0 and s > 0 and 0 <= ph < kh and 0 <= pw < kw,
          f"{name}: kernel {kh} x {kw}, stride {s}, pads {ph}, {pw} (below the kernel)")
    _need(yf.h == 0 or s * (yf.h - 1) - ph < xf.h, f"{name}: an output row's window is all pad")
    _need(yf.w == 0 or s * (yf.w - 1) - pw < xf.w, f"{name}: an output column's window is all pad")
    _pairs(name, "inp", inp, gk_bf16_pix_size(&xf))
    _pairs(name, "out", out, gk_bf16_pix_size(&yf))
    with nogil:
        rc = gk_bf16_pix_maxpool(&inp[0], &xf, kh, kw, s, ph, pw, &out[0], &yf, threads)
    return _direct_done(name, rc)
