# Wrappers of src/qdynamic.h: DynamicQuantizeLinear and the dynamic int8 products (DynamicQuantize
# MatMul, MatMulIntegerToFloat) as one C call each, recorded for segments: the data-dependent
# scale and zero point are computed or read in C, never by Python.

cdef extern from "src/qdynamic.h" nogil:
    void gk_qdyn_quantize(long n, const float *x, unsigned char *y, float *scale_out,
                          unsigned char *zp_out, int threads)
    int gk_qdyn_matmul(long m, long n, long k, const float *x, long ldx, const unsigned char *a,
                       int ta, long lda, const float *a_scale, const unsigned char *a_zp, int q8,
                       const unsigned char *bq, int tb, const int *zb, long zb_s, const int *sb,
                       const short *bp16, const gk_qepilogue *ep_b, unsigned char *ap8, int *sa,
                       short *ap16, float *mult_buf, float *c, long ldc, int threads)


def qdyn_quantize(const float[::1] x, unsigned char[::1] y, float[::1] scale,
                  unsigned char[::1] zp, int threads):
    """DynamicQuantizeLinear of x (float32, n > 0 values) into y (n uint8), scale[0], zp[0]."""
    cdef long n = x.shape[0]
    if n == 0:
        raise ValueError("qdyn_quantize: an empty input")
    if y is None or y.shape[0] < n or scale is None or scale.shape[0] < 1 or zp is None or \
            zp.shape[0] < 1:
        raise ValueError("qdyn_quantize: y, scale or zp is too small")
    with nogil:
        gk_qdyn_quantize(n, &x[0], &y[0], &scale[0], &zp[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_qdyn_quantize, "qdyn_quantize", (x, y, scale, zp))
        c.c.p[0], c.c.p[1] = <void *>&x[0], <void *>&y[0]
        c.c.p[2], c.c.p[3] = <void *>&scale[0], <void *>&zp[0]
        c.c.i[0], c.c.i[1] = n, threads


cdef int _run_qdyn_quantize(const gk_call *c) noexcept nogil:
    gk_qdyn_quantize(c.i[0], <const float *>c.p[0], <unsigned char *>c.p[1], <float *>c.p[2],
                     <unsigned char *>c.p[3], <int>c.i[1])
    return 0


cdef inline long _align64(long v) noexcept:
    return (v + 63) & ~63


def qdyn_work_bytes(long m, long n, long k, int q8, bint sums):
    """Bytes of qdyn_matmul's work buffer: packed A, then (q8 with sums) M row sums, then N
    multipliers, each at a 64-byte offset."""
    cdef long size = gk_q8_packed_size(m, k) if q8 else 2 * gk_qpacked_a_size(m, k)
    size = _align64(size)
    if q8 and sums:
        size = _align64(size + 4 * m)
    return size + 4 * max(n, 1)


def qdyn_matmul(long m, long n, long k, const float[:, ::1] x, const unsigned char[:, ::1] a,
                int ta, const float[::1] a_scale, const unsigned char[::1] a_zp, int q8,
                const unsigned char[::1] bq, int tb, const int[::1] zb, const int[::1] sb,
                const short[::1] bp16, QEpilogue ep, unsigned char[::1] work, bint sums,
                float[:, ::1] c, int threads):
    """c[:m, :n] (float32) = float32(acc + bias) * (a_scale * b_scale[j]) + fbias[j]: A is
    DynamicQuantizeLinear(x) (x given: DynamicQuantizeMatMul) or the 8-bit a (type ta) with
    scale a_scale[0] and zero point a_zp[0] (None: 0) read in C (MatMulIntegerToFloat). B: the
    8-bit GEMM's packed bq (q8: stored type tb, stored zero points zb, column sums sb) or the
    int16 GEMM's bp16. ep: float32 output, mult = b_scale (one value or n: mult_cs 0 / 1,
    mult_rs 0), optional float bias. work: qdyn_work_bytes(m, n, k, q8, sums) bytes (sums: zb
    has a nonzero value, so A's row sums are needed)."""
    cdef long zb_s = 0, off_sa = 0, off_mult
    cdef const int *zbp = NULL
    if m < 0 or n < 0 or k < 0:
        raise ValueError(f"qdyn_matmul: negative size ({m}, {n}, {k})")
    if (x is None) == (a is None):
        raise ValueError("qdyn_matmul: exactly one of x (float32) and a (8-bit) is given")
    if x is not None and (x.shape[0] != m or x.shape[1] != k or (m > 1 and x.strides[0] != 4 * k)):
        raise ValueError(f"qdyn_matmul: x is not {m} x {k} contiguous rows")
    if a is not None:
        _qtype(ta)
        if a.shape[0] != m or a.shape[1] != k or (m > 1 and a.strides[0] != k):
            raise ValueError(f"qdyn_matmul: a is not {m} x {k} contiguous rows")
        if a_scale is None or a_scale.shape[0] != 1:
            raise ValueError("qdyn_matmul: a needs one a_scale value")
        if a_zp is not None and a_zp.shape[0] != 1:
            raise ValueError("qdyn_matmul: a_zp must be one value")
    if ep.ep.out_type != Q_F32 or ep.ep.mult_rs != 0 or ep.ep.mult_cs > 1:
        raise ValueError("qdyn_matmul: the epilogue must be float32 with per-column mult")
    ep.check(m, n)
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"qdyn_matmul: c is smaller than {m} x {n}")
    if q8:
        _qtype(tb)
        if (a is not None and tb == ta) or (x is not None and tb != Q_S8):
            raise ValueError("qdyn_matmul: one operand must be stored u8 and the other s8")
        if bq is None or bq.shape[0] < <Py_ssize_t>gk_q8_packed_size(n, k):
            raise ValueError("qdyn_matmul: packed B is too small")
        zbp = _q8_zp("qdyn_matmul zb", zb, n, &zb_s)
        if sb is None or sb.shape[0] < n:
            raise ValueError("qdyn_matmul: sb must hold B's n column sums")
    elif bp16 is None or bp16.shape[0] < <Py_ssize_t>gk_qpacked_b_size(k, n):
        raise ValueError("qdyn_matmul: packed B is too small")
    off_mult = _align64(gk_q8_packed_size(m, k) if q8 else 2 * gk_qpacked_a_size(m, k))
    if q8 and sums:
        off_sa, off_mult = off_mult, _align64(off_mult + 4 * m)
    if work is None or work.shape[0] < off_mult + 4 * max(n, 1):
        raise ValueError("qdyn_matmul: work is too small")
    if m == 0 or n == 0:
        return
    if k == 0:
        raise ValueError("qdyn_matmul: k == 0")
    cdef const float *xp = &x[0, 0] if x is not None and k > 0 else NULL
    cdef const unsigned char *ap = &a[0, 0] if a is not None and k > 0 else NULL
    cdef const void *src = <const void *>xp if x is not None else <const void *>ap
    cdef const float *asp = &a_scale[0] if a is not None else NULL
    cdef const unsigned char *azp = &a_zp[0] if a is not None and a_zp is not None else NULL
    cdef const void *bpp = <const void *>&bq[0] if q8 else <const void *>&bp16[0]
    cdef const int *sbp = &sb[0] if q8 else NULL
    cdef long flags = (1 if x is not None else 0) | (2 if q8 and sums else 0) | (4 if q8 else 0)
    cdef long ldc = c.strides[0] // 4
    cdef int ok
    with nogil:
        ok = _qdyn_matmul_at(m, n, k, src, ta, asp, azp, bpp, tb, zbp, zb_s, sbp, &ep.ep,
                             &work[0], off_sa, off_mult, flags, &c[0, 0], ldc, threads)
    if not ok:
        raise ValueError("qdyn_matmul: a nonzero zero point needs the other operand's sums")
    cdef Call call
    if _tracing():
        call = _record(_run_qdyn_matmul, "qdyn_matmul", (x, a, a_scale, a_zp, bq, zb, sb, bp16,
                                                          ep, work, c))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>src, <void *>asp, <void *>azp
        call.c.p[3], call.c.p[4], call.c.p[5] = <void *>bpp, <void *>zbp, <void *>sbp
        call.c.p[6], call.c.p[7] = <void *>&work[0], <void *>&c[0, 0]
        call.c.ep = <const void *>&ep.ep
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = m, n, k, ta, tb
        call.c.i[5], call.c.i[6], call.c.i[7], call.c.i[8] = zb_s, off_sa, off_mult, flags
        call.c.i[9], call.c.i[10] = ldc, threads


cdef int _qdyn_matmul_at(long m, long n, long k, const void *src, int ta, const float *asp,
                         const unsigned char *azp, const void *bpp, int tb, const int *zbp,
                         long zb_s, const int *sbp, const gk_qepilogue *ep, unsigned char *work,
                         long off_sa, long off_mult, long flags, float *c, long ldc,
                         int threads) noexcept nogil:
    cdef int q8 = 1 if flags & 4 else 0
    cdef const float *xp = <const float *>src if flags & 1 else NULL
    cdef const unsigned char *ap = NULL if flags & 1 else <const unsigned char *>src
    return gk_qdyn_matmul(m, n, k, xp, k, ap, ta, k, asp, azp, q8,
                          <const unsigned char *>bpp if q8 else NULL, tb, zbp, zb_s, sbp,
                          NULL if q8 else <const short *>bpp, ep,
                          work if q8 else NULL, <int *>(work + off_sa) if flags & 2 else NULL,
                          NULL if q8 else <short *>work, <float *>(work + off_mult), c, ldc,
                          threads)


cdef int _run_qdyn_matmul(const gk_call *c) noexcept nogil:
    return not _qdyn_matmul_at(c.i[0], c.i[1], c.i[2], <const void *>c.p[0], <int>c.i[3],
                               <const float *>c.p[1], <const unsigned char *>c.p[2],
                               <const void *>c.p[3], <int>c.i[4], <const int *>c.p[4], c.i[5],
                               <const int *>c.p[5], <const gk_qepilogue *>c.ep,
                               <unsigned char *>c.p[6], c.i[6], c.i[7], c.i[8], <float *>c.p[7],
                               c.i[9], <int>c.i[10])
