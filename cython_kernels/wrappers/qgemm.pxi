# Wrappers of src/qgemm.h: the exact int8 GEMM (int16-pair packing, requantising epilogue).
# 8-bit operands come in as uint8 views with a type code (Q_U8 / Q_S8); outputs as numpy arrays
# whose rows are contiguous (uint8/int8 or int32, per the epilogue's out_type).

import numpy as _np

cdef extern from "src/qgemm.h" nogil:
    ctypedef struct gk_qepilogue:
        const int *bias
        long bias_rs, bias_cs
        const float *mult
        long mult_rs, mult_cs
        float zp, lo, hi
        int out_type
        const int *fx_mult
        const int *fx_shift
        long fx_rs, fx_cs
        int fx_zp, fx_lo, fx_hi
        const float *fbias
        long fbias_cs
        int mult_finite
    size_t gk_qpacked_a_size(long m, long k)
    size_t gk_qpacked_b_size(long k, long n)
    void gk_qpack_a(long m, long k, const void *a, int type, long s_m, long s_k,
                    const int *za, long za_s, short *out, int threads)
    void gk_qpack_a_quantize(long m, long k, const float *x, long ldx, float scale, int zp,
                             short *out, int threads)
    void gk_qpack_b(long k, long n, const void *b, int type, long s_k, long s_n,
                    const int *zb, long zb_s, short *out, int threads)
    void gk_qgemm_packed_at(long m, long n, long k, const short *ap, const short *bp,
                            void *c, long ldc, const gk_qepilogue *ep, long i0, long j0,
                            int threads)
    int gk_cpu_has_vnni()
    ctypedef struct gk_q8_zero:
        const int *za
        const int *sa
        const int *zb
        const int *sb
        long za_s, zb_s
    long gk_q8_kpad(long k)
    size_t gk_q8_packed_size(long lines, long k)
    void gk_q8_pack_a(long m, long k, const void *a, int type, long s_m, long s_k, int to,
                      int *sums, unsigned char *out, int threads)
    void gk_q8_pack_a_quantize(long m, long k, const float *x, long ldx, float scale, int zp,
                               int to, int *sums, unsigned char *out, int threads)
    void gk_q8_pack_b(long k, long n, const void *b, int type, long s_k, long s_n, int to,
                      int *sums, unsigned char *out, int threads)
    int gk_q8_gemm(long m, long n, long k, const unsigned char *ap, int ta,
                   const unsigned char *bp, int tb, const gk_q8_zero *z, void *c, long ldc,
                   const gk_qepilogue *ep, long i0, long j0, int threads)
    int gk_q8_core()
    int gk_q8_set_core(int limit)

Q_U8, Q_S8, Q_I32, Q_F32 = 0, 1, 2, 3
QMR = 6
QNR = 16
_Q_ITEMSIZE = {0: 1, 1: 1, 2: 4, 3: 4}


def cpu_has_vnni():
    """True if this CPU has AVX512_VNNI (with AVX512BW): the AVX-512 level's int8 GEMM then
    runs vpdpwssd."""
    return bool(gk_cpu_has_vnni())


def qpacked_a_size(long m, long k):
    return gk_qpacked_a_size(m, k)


def qpacked_b_size(long k, long n):
    return gk_qpacked_b_size(k, n)


cdef int _qtype(int t) except -1:
    if t != Q_U8 and t != Q_S8:
        raise ValueError(f"8-bit operand type must be Q_U8 or Q_S8, got {t}")
    return 0


cdef int _zeros(str name, const int[::1] z, long n) except -1:
    """A zero point vector: one value (for every line) or n."""
    if z is None or (z.shape[0] != 1 and z.shape[0] != n):
        raise ValueError(f"{name}: zero points must number 1 or {n}")
    if z.shape[0] == 0 and n > 0:
        raise ValueError(f"{name}: no zero point")
    return 0


def qpack_a(const unsigned char[:, :] a, int type, const int[::1] za, short[::1] out,
            int threads):
    """out = (A - za[row]) (M x K, any strides, uint8 view of u8/s8 data) packed for the int8
    GEMM's left operand."""
    cdef long m = a.shape[0], k = a.shape[1]
    _qtype(type)
    _zeros("qpack_a", za, m)
    if out.shape[0] < <Py_ssize_t>gk_qpacked_a_size(m, k):
        raise ValueError("qpack_a: out is too small")
    if m == 0 or k == 0:
        return
    with nogil:
        gk_qpack_a(m, k, &a[0, 0], type, a.strides[0], a.strides[1], &za[0],
                   1 if za.shape[0] > 1 else 0, &out[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_qpack_a, "qpack_a", (a, za, out))
        c.c.p[0], c.c.p[1], c.c.p[2] = <void *>&a[0, 0], <void *>&za[0], <void *>&out[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3], c.c.i[4] = m, k, type, a.strides[0], a.strides[1]
        c.c.i[5], c.c.i[6] = 1 if za.shape[0] > 1 else 0, threads


cdef int _run_qpack_a(const gk_call *c) noexcept nogil:
    gk_qpack_a(c.i[0], c.i[1], <const void *>c.p[0], <int>c.i[2], c.i[3], c.i[4],
               <const int *>c.p[1], c.i[5], <short *>c.p[2], <int>c.i[6])
    return 0


def qpack_a_quantize(const float[:, ::1] x, float scale, int zp, short[::1] out, int threads):
    """out = saturate_u8(rint(x / scale) + zp) - zp (M x K float32 rows, quantised as
    DynamicQuantizeLinear does) packed for the int8 GEMM's left operand."""
    cdef long m = x.shape[0], k = x.shape[1]
    if zp < 0 or zp > 255:
        raise ValueError(f"qpack_a_quantize: zero point {zp} is not a uint8")
    if out.shape[0] < <Py_ssize_t>gk_qpacked_a_size(m, k):
        raise ValueError("qpack_a_quantize: out is too small")
    if m == 0 or k == 0:
        return
    with nogil:
        gk_qpack_a_quantize(m, k, &x[0, 0], x.strides[0] // 4, scale, zp, &out[0], threads)


def qpack_b(const unsigned char[:, :] b, int type, const int[::1] zb, short[::1] out,
            int threads):
    """out = (B - zb[column]) (K x N, any strides) packed for the int8 GEMM's right operand."""
    cdef long k = b.shape[0], n = b.shape[1]
    _qtype(type)
    _zeros("qpack_b", zb, n)
    if out.shape[0] < <Py_ssize_t>gk_qpacked_b_size(k, n):
        raise ValueError("qpack_b: out is too small")
    if n == 0 or k == 0:
        return
    with nogil:
        gk_qpack_b(k, n, &b[0, 0], type, b.strides[0], b.strides[1], &zb[0],
                   1 if zb.shape[0] > 1 else 0, &out[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_qpack_b, "qpack_b", (b, zb, out))
        c.c.p[0], c.c.p[1], c.c.p[2] = <void *>&b[0, 0], <void *>&zb[0], <void *>&out[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3], c.c.i[4] = k, n, type, b.strides[0], b.strides[1]
        c.c.i[5], c.c.i[6] = 1 if zb.shape[0] > 1 else 0, threads


cdef int _run_qpack_b(const gk_call *c) noexcept nogil:
    gk_qpack_b(c.i[0], c.i[1], <const void *>c.p[0], <int>c.i[2], c.i[3], c.i[4],
               <const int *>c.p[1], c.i[5], <short *>c.p[2], <int>c.i[6])
    return 0


cdef class QEpilogue:
    """The int8 GEMM's epilogue (src/qgemm.h: gk_qepilogue): bias (int32), requantisation by
    mult (float32) and zp, saturation to out_type; mult[i * mult_rs + j * mult_cs]. The arrays
    are kept referenced while the object lives. fixed_point() switches it to TFLite's integer
    requantisation."""
    cdef gk_qepilogue ep
    cdef object keep
    cdef object keep_fx
    cdef Py_ssize_t n_mult, n_bias, n_fx
    cdef object keep_fb
    cdef Py_ssize_t n_fb

    def __init__(self, int out_type, const float[::1] mult=None, long mult_rs=0,
                 long mult_cs=0, const int[::1] bias=None, long bias_rs=0, long bias_cs=0,
                 float zp=0.0):
        if out_type not in (Q_U8, Q_S8, Q_I32, Q_F32):
            raise ValueError(f"QEpilogue: unknown out_type {out_type}")
        if out_type == Q_F32 and mult is None:
            raise ValueError("QEpilogue: a requantising epilogue needs mult")
        if out_type != Q_I32 and mult is None:
            mult = _np.zeros(1, _np.float32)  # a fixed_point() epilogue reads no float mult
        if out_type != Q_I32 and mult.shape[0] == 0:
            raise ValueError("QEpilogue: a requantising epilogue needs mult")
        if mult_rs < 0 or mult_cs < 0 or bias_rs < 0 or bias_cs < 0:
            raise ValueError("QEpilogue: negative stride")
        memset(&self.ep, 0, sizeof(self.ep))
        self.keep = (mult, bias)
        self.n_mult = -1 if mult is None else mult.shape[0]
        self.n_bias = -1 if bias is None or bias.shape[0] == 0 else bias.shape[0]
        self.ep.out_type = out_type
        self.ep.mult = NULL if self.n_mult <= 0 else &mult[0]
        self.ep.mult_rs, self.ep.mult_cs = mult_rs, mult_cs
        self.ep.bias = NULL if self.n_bias < 0 else &bias[0]
        self.ep.bias_rs, self.ep.bias_cs = bias_rs, bias_cs
        self.ep.zp = zp
        self.ep.lo, self.ep.hi = (0.0, 255.0) if out_type == Q_U8 else (-128.0, 127.0)
        self.ep.mult_finite = self.n_mult > 0 and bool(_np.isfinite(mult).all())
        self.n_fx = -1
        self.n_fb = -1

    def fixed_point(self, const int[::1] mult, const int[::1] shift, long rs, long cs, int zp,
                    int lo, int hi):
        """TFLite's requantisation instead of the float one: clamp(MultiplyByQuantizedMultiplier(
        acc + bias, mult(i, j), shift(i, j)) + zp, lo, hi), mult/shift[i * rs + j * cs]; every
        shift <= 30 and every mult in [0, 2^31); [lo, hi] inside the output type's range."""
        if self.ep.out_type != Q_U8 and self.ep.out_type != Q_S8:
            raise ValueError("QEpilogue.fixed_point: the output must be 8-bit")
        if mult is None or shift is None or mult.shape[0] == 0 or mult.shape[0] != shift.shape[0]:
            raise ValueError("QEpilogue.fixed_point: mult and shift must have equal, >0 sizes")
        if rs < 0 or cs < 0:
            raise ValueError("QEpilogue.fixed_point: negative stride")
        cdef Py_ssize_t q
        for q in range(mult.shape[0]):
            if mult[q] < 0 or shift[q] > 30 or shift[q] < -31:
                raise ValueError(f"QEpilogue.fixed_point: multiplier {mult[q]} shift {shift[q]}")
        if lo > hi or lo < self.ep.lo or hi > self.ep.hi:
            raise ValueError(f"QEpilogue.fixed_point: range [{lo}, {hi}] outside the output's")
        self.keep_fx = (mult, shift)
        self.n_fx = mult.shape[0]
        self.ep.fx_mult, self.ep.fx_shift = &mult[0], &shift[0]
        self.ep.fx_rs, self.ep.fx_cs = rs, cs
        self.ep.fx_zp, self.ep.fx_lo, self.ep.fx_hi = zp, lo, hi
        return self

    def float_bias(self, const float[::1] bias):
        """A float32 output's bias, added after the multiply in its own float32 rounding:
        C = float(acc + bias) * mult(i, j) + fbias[j] (one value: every column)."""
        if self.ep.out_type != Q_F32:
            raise ValueError("QEpilogue.float_bias: the output must be float32")
        if bias is None or bias.shape[0] == 0:
            raise ValueError("QEpilogue.float_bias: an empty bias")
        self.keep_fb = bias
        self.n_fb = bias.shape[0]
        self.ep.fbias = &bias[0]
        self.ep.fbias_cs = 1 if bias.shape[0] > 1 else 0
        return self

    cdef int check(self, long i1, long j1) except -1:
        """Every mult/bias index of rows < i1 and columns < j1 is in range."""
        cdef long last_m = (i1 - 1) * self.ep.mult_rs + (j1 - 1) * self.ep.mult_cs
        cdef long last_b = (i1 - 1) * self.ep.bias_rs + (j1 - 1) * self.ep.bias_cs
        if i1 <= 0 or j1 <= 0:
            return 0
        if self.ep.out_type != Q_I32 and last_m >= self.n_mult:
            raise ValueError(f"QEpilogue: mult has {self.n_mult} values, needs {last_m + 1}")
        if self.n_fx >= 0 and (i1 - 1) * self.ep.fx_rs + (j1 - 1) * self.ep.fx_cs >= self.n_fx:
            raise ValueError(f"QEpilogue: fixed-point multipliers number {self.n_fx}, too few")
        if self.n_fb >= 0 and (j1 - 1) * self.ep.fbias_cs >= self.n_fb:
            raise ValueError(f"QEpilogue: float bias has {self.n_fb} values, needs {j1}")
        if self.n_bias >= 0 and last_b >= self.n_bias:
            raise ValueError(f"QEpilogue: bias has {self.n_bias} values, needs {last_b + 1}")
        return 0


cdef unsigned char[:, ::1] _qout(str name, object c, QEpilogue ep, long m, long n):
    """c (2-D, contiguous rows, the epilogue's element type, at least m x n) as bytes."""
    cdef int size = _Q_ITEMSIZE[ep.ep.out_type]
    kind = "f" if ep.ep.out_type == Q_F32 else "iu"
    if c.ndim != 2 or c.dtype.itemsize != size or c.dtype.kind not in kind:
        raise ValueError(f"{name}: output must be 2-D, {size}-byte, of kind {kind}")
    if c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"{name}: output is smaller than {m} x {n}")
    return c.view(_np.uint8)


def qgemm(long m, long n, long k, const short[::1] ap, const short[::1] bp, c, QEpilogue ep,
          long i0=0, long j0=0, int threads=1):
    """c[:m, :n] = epilogue(packed A @ packed B); (i0, j0) offset the epilogue's indices."""
    if m < 0 or n < 0 or k < 0 or i0 < 0 or j0 < 0:
        raise ValueError(f"qgemm: negative size or offset ({m}, {n}, {k}, {i0}, {j0})")
    if ap.shape[0] < <Py_ssize_t>gk_qpacked_a_size(m, k):
        raise ValueError("qgemm: packed A is too small")
    if bp.shape[0] < <Py_ssize_t>gk_qpacked_b_size(k, n):
        raise ValueError("qgemm: packed B is too small")
    ep.check(i0 + m, j0 + n)
    if m == 0 or n == 0:
        return
    cdef unsigned char[:, ::1] cv = _qout("qgemm", c, ep, m, n)
    cdef long ldc = cv.strides[0] // _Q_ITEMSIZE[ep.ep.out_type]
    with nogil:
        gk_qgemm_packed_at(m, n, k, &ap[0], &bp[0], &cv[0, 0], ldc, &ep.ep, i0, j0, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_qgemm, "qgemm", (ap, bp, cv, ep))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&ap[0], <void *>&bp[0], <void *>&cv[0, 0]
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = m, n, k, ldc
        call.c.i[4], call.c.i[5], call.c.i[6] = i0, j0, threads


cdef int _run_qgemm(const gk_call *c) noexcept nogil:
    gk_qgemm_packed_at(c.i[0], c.i[1], c.i[2], <const short *>c.p[0], <const short *>c.p[1],
                       c.p[2], c.i[3], <const gk_qepilogue *>c.ep, c.i[4], c.i[5], <int>c.i[6])
    return 0


# ---- the 8-bit GEMM (src/qgemm.h gk_q8_*: bytes x bytes, AMX-INT8 / AVX512_VNNI / portable) ----

Q8_CORES = ("portable", "vnni", "amx")


def q8_core():
    """The core the 8-bit GEMM runs now: 2 AMX, 1 AVX512_VNNI (vpdpbusd), 0 portable C."""
    return gk_q8_core()


def q8_set_core(int limit):
    """Caps the 8-bit GEMM's core (tests and A/B runs: 0 portable, 1 VNNI at most, -1 or 2 no
    cap); returns the core now in force."""
    return gk_q8_set_core(limit)


def q8_packed_size(long lines, long k):
    """Bytes of a packed 8-bit GEMM operand of `lines` rows (A) or columns (B) over K."""
    if lines < 0 or k < 0:
        raise ValueError("q8_packed_size: negative size")
    return gk_q8_packed_size(lines, k)


cdef int *_q8_sums(str name, int[::1] sums, long n) except? NULL:
    if sums is None:
        return NULL
    if sums.shape[0] < n:
        raise ValueError(f"{name}: sums holds {sums.shape[0]} values, needs {n}")
    return &sums[0] if n > 0 else NULL


cdef const int *_q8_csums(str name, const int[::1] sums, long n) except? NULL:
    if sums is None:
        return NULL
    if sums.shape[0] < n:
        raise ValueError(f"{name}: sums holds {sums.shape[0]} values, needs {n}")
    return &sums[0] if n > 0 else NULL


cdef int _q8_out(str name, unsigned char[::1] out, long lines, long k) except -1:
    if out is None or out.shape[0] < <Py_ssize_t>gk_q8_packed_size(lines, k):
        raise ValueError(f"{name}: out is too small")
    return 0


def q8_pack_a(const unsigned char[:, :] a, int type, int to, int[::1] sums,
              unsigned char[::1] out, int threads):
    """out = A (M x K, any strides, uint8 view of u8/s8 data) stored as type `to` (top bit
    flipped where it differs) in the 8-bit GEMM's left layout; sums[i] (None: not computed) =
    the row sums of the stored values."""
    cdef long m = a.shape[0], k = a.shape[1]
    _qtype(type)
    _qtype(to)
    _q8_out("q8_pack_a", out, m, k)
    cdef int *sp = _q8_sums("q8_pack_a", sums, m)
    if m == 0:
        return
    cdef const unsigned char *src = &a[0, 0] if k > 0 else NULL
    with nogil:
        gk_q8_pack_a(m, k, src, type, a.strides[0], a.strides[1], to, sp, &out[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_q8_pack_a, "q8_pack_a", (a, sums, out))
        c.c.p[0], c.c.p[1], c.c.p[2] = <void *>src, <void *>sp, <void *>&out[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3], c.c.i[4] = m, k, type, a.strides[0], a.strides[1]
        c.c.i[5], c.c.i[6] = to, threads


cdef int _run_q8_pack_a(const gk_call *c) noexcept nogil:
    gk_q8_pack_a(c.i[0], c.i[1], <const void *>c.p[0], <int>c.i[2], c.i[3], c.i[4], <int>c.i[5],
                 <int *>c.p[1], <unsigned char *>c.p[2], <int>c.i[6])
    return 0


def q8_pack_a_quantize(const float[:, ::1] x, float scale, int zp, int to, int[::1] sums,
                       unsigned char[::1] out, int threads):
    """out = saturate_u8(rint(x / scale) + zp) (DynamicQuantizeLinear's rows) stored as `to` in
    the 8-bit GEMM's left layout; sums as q8_pack_a."""
    cdef long m = x.shape[0], k = x.shape[1]
    if zp < 0 or zp > 255:
        raise ValueError(f"q8_pack_a_quantize: zero point {zp} is not a uint8")
    _qtype(to)
    _q8_out("q8_pack_a_quantize", out, m, k)
    cdef int *sp = _q8_sums("q8_pack_a_quantize", sums, m)
    if m == 0 or k == 0:
        return
    with nogil:
        gk_q8_pack_a_quantize(m, k, &x[0, 0], x.strides[0] // 4, scale, zp, to, sp, &out[0],
                              threads)


def q8_pack_b(const unsigned char[:, :] b, int type, int to, int[::1] sums,
              unsigned char[::1] out, int threads):
    """out = B (K x N, any strides) stored as `to` in the 8-bit GEMM's right layout; sums[j]
    (None: not computed) = the column sums of the stored values."""
    cdef long k = b.shape[0], n = b.shape[1]
    _qtype(type)
    _qtype(to)
    _q8_out("q8_pack_b", out, n, k)
    cdef int *sp = _q8_sums("q8_pack_b", sums, n)
    if n == 0:
        return
    cdef const unsigned char *src = &b[0, 0] if k > 0 else NULL
    with nogil:
        gk_q8_pack_b(k, n, src, type, b.strides[0], b.strides[1], to, sp, &out[0], threads)


cdef const int *_q8_zp(str name, const int[::1] z, long n, long *stride) except? NULL:
    if z is None:
        stride[0] = 0
        return NULL
    _zeros(name, z, n)
    stride[0] = 1 if z.shape[0] > 1 else 0
    return &z[0]


def q8_gemm(long m, long n, long k, const unsigned char[::1] ap, int ta,
            const unsigned char[::1] bp, int tb, c, QEpilogue ep, const int[::1] za=None,
            const int[::1] zb=None, const int[::1] sa=None, const int[::1] sb=None, long i0=0,
            long j0=0, int threads=1):
    """c[:m, :n] = epilogue(sum_k (A' - za')(B' - zb')) of the packed 8-bit operands (stored
    types ta != tb; za/zb the zero points in the stored domain, 1 or m / n values, None: 0; sa /
    sb the stored row / column sums, needed where the other side's zero point is not 0)."""
    cdef gk_q8_zero z
    if m < 0 or n < 0 or k < 0 or i0 < 0 or j0 < 0:
        raise ValueError(f"q8_gemm: negative size or offset ({m}, {n}, {k}, {i0}, {j0})")
    _qtype(ta)
    _qtype(tb)
    if ta == tb:
        raise ValueError("q8_gemm: one operand must be stored u8 and the other s8")
    if ap.shape[0] < <Py_ssize_t>gk_q8_packed_size(m, k):
        raise ValueError("q8_gemm: packed A is too small")
    if bp.shape[0] < <Py_ssize_t>gk_q8_packed_size(n, k):
        raise ValueError("q8_gemm: packed B is too small")
    z.za = _q8_zp("q8_gemm za", za, m, &z.za_s)
    z.zb = _q8_zp("q8_gemm zb", zb, n, &z.zb_s)
    z.sa = _q8_csums("q8_gemm sa", sa, m)
    z.sb = _q8_csums("q8_gemm sb", sb, n)
    ep.check(i0 + m, j0 + n)
    if m == 0 or n == 0:
        return
    cdef unsigned char[:, ::1] cv = _qout("q8_gemm", c, ep, m, n)
    cdef long ldc = cv.strides[0] // _Q_ITEMSIZE[ep.ep.out_type]
    cdef int ok
    with nogil:
        ok = gk_q8_gemm(m, n, k, &ap[0], ta, &bp[0], tb, &z, &cv[0, 0], ldc, &ep.ep, i0, j0,
                        threads)
    if not ok:
        if (z.za != NULL and z.sb == NULL) or (z.zb != NULL and z.sa == NULL):
            raise ValueError("q8_gemm: a nonzero zero point needs the other operand's sums")
        raise MemoryError("q8_gemm: no memory for the zero-point terms")
    cdef Call call
    if _tracing():
        call = _record(_run_q8_gemm, "q8_gemm", (ap, bp, cv, ep, za, zb, sa, sb))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&ap[0], <void *>&bp[0], <void *>&cv[0, 0]
        call.c.p[3], call.c.p[4] = <void *>z.za, <void *>z.zb
        call.c.p[5], call.c.p[6] = <void *>z.sa, <void *>z.sb
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = m, n, k, ta, tb
        call.c.i[5], call.c.i[6], call.c.i[7] = z.za_s, z.zb_s, ldc
        call.c.i[8], call.c.i[9], call.c.i[10] = i0, j0, threads


cdef int _run_q8_gemm(const gk_call *c) noexcept nogil:
    cdef gk_q8_zero z
    z.za, z.zb = <const int *>c.p[3], <const int *>c.p[4]
    z.sa, z.sb = <const int *>c.p[5], <const int *>c.p[6]
    z.za_s, z.zb_s = c.i[5], c.i[6]
    return not gk_q8_gemm(c.i[0], c.i[1], c.i[2], <const unsigned char *>c.p[0], <int>c.i[3],
                          <const unsigned char *>c.p[1], <int>c.i[4], &z, c.p[2], c.i[7],
                          <const gk_qepilogue *>c.ep, c.i[8], c.i[9], <int>c.i[10])
